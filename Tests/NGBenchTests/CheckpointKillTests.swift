import Foundation
import NGKernels
import Testing

/// A process killed with SIGKILL at any moment of a save loop leaves a checkpoint that loads,
/// and no temporary files that pile up.
@Suite struct CheckpointKillTests {
    @Test func killsAtRandomMomentsLeaveALoadableCheckpoint() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ngplus-kill-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("state").path
        // The same moments every run: each kill comes 0 to 600 ms (about one save of this
        // 2.5 MB state, in a debug build) after the child's first save is on disk.
        var generator = SeededGenerator(seed: 20_261_130)
        func nextDelay() -> UInt32 { UInt32.random(in: 0..<600_000, using: &generator) }
        func modified() -> Date? {
            (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }
        let kills = 20
        for kill in 0..<kills {
            let before = modified()
            let child = try startNGBench(["checkpoint-loop", "--path", path])
            let deadline = Date().addingTimeInterval(60)
            while modified() == before, Date() < deadline { usleep(5_000) }
            usleep(nextDelay())
            Glibc.kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal, "kill \(kill): the loop ended by itself")
            let verify = try runNGBench(["checkpoint-loop", "--path", path, "--verify"])
            #expect(verify.status == 0, "kill \(kill): \(verify.stderr)")
        }
        // Temporaries of killed saves are removed by the next save: at most the last one is left.
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(names.filter { $0.hasSuffix(".tmp") }.count <= 1, "\(names)")
    }
}
