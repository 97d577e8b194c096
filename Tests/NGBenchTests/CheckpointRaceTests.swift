import Foundation
import Testing

/// Two processes saving to one path, one of them in a PID namespace of its own (as a second
/// container sharing the folder would be): every save of both succeeds, and the file loads.
/// Needs `unshare --pid`, which only a privileged user has.
@Suite struct CheckpointRaceTests {
    static let unshare = "/usr/bin/unshare"

    /// Whether this user may make a PID namespace.
    static var canUnsharePID: Bool {
        guard FileManager.default.isExecutableFile(atPath: unshare) else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: unshare)
        probe.arguments = ["--pid", "--fork", "--kill-child", "/bin/true"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    @Test(.enabled(if: canUnsharePID, "unshare --pid is not permitted for this user"))
    func saversInDifferentPIDNamespacesDoNotLoseSaves() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ngplus-race-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("state").path
        let arguments = ["checkpoint-loop", "--path", path, "--saves", "30"]
        let here = try ngbenchProcess(arguments)
        let elsewhere = try ngbenchProcess(arguments)
        elsewhere.arguments = ["--pid", "--fork", "--kill-child", elsewhere.executableURL!.path] + arguments
        elsewhere.executableURL = URL(fileURLWithPath: Self.unshare)
        var logs: [URL] = []
        for (process, name) in [(here, "here"), (elsewhere, "elsewhere")] {
            let log = folder.appendingPathComponent("\(name).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: log)
            logs.append(log)
        }
        try here.run()
        try elsewhere.run()
        here.waitUntilExit()
        elsewhere.waitUntilExit()
        for (process, log) in zip([here, elsewhere], logs) {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(process.terminationStatus == 0, "\(log.lastPathComponent): \(text)")
        }
        let verify = try runNGBench(["checkpoint-loop", "--path", path, "--verify"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(names.filter { $0.hasSuffix(".tmp") }.isEmpty, "\(names)")
    }
}
