import Foundation
import NGPlus
import Testing

/// Checkpoints: the settings are saved and compared, damage inside a checksummed file is found,
/// saves from several threads to one path all succeed, and temporary files of a killed save do
/// not pile up.
@Suite final class CheckpointTests {
    /// A fresh folder for each test, removed after it.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ngplus-checkpoints-\(UUID())")

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(at: folder) }

    @Test func aStateSavedWithOtherSettingsIsRefusedNamingThem() throws {
        var saved = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 10))
        _ = try saved.register(.dense(outputs: 3, inputs: 4, bias: true))
        var other = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 5))
        _ = try other.register(.dense(outputs: 3, inputs: 4, bias: true))
        let before = other.stateBytes()
        let error = #expect(throws: NGError.self) { try other.restore(stateBytes: saved.stateBytes()) }
        guard case let .corruptState(_, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(reason.contains("inverseInterval 10 → 5"), "\(reason)")
        #expect(other.stateBytes() == before)
        // The same settings load.
        var same = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 10))
        _ = try same.register(.dense(outputs: 3, inputs: 4, bias: true))
        try same.restore(stateBytes: saved.stateBytes())
    }

    /// A NaN written into a stored value of a correctly checksummed file is refused on load.
    @Test func aNonFiniteStoredValueIsRefused() throws {
        var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9))
        let layer = try sgd.register(.vector(length: 4))
        var weight = Matrix<Float>(rows: 1, columns: 4, repeating: 1)
        try sgd.step(layer, weight: &weight, gradient: Matrix(rows: 1, columns: 4, repeating: 0.5))
        var bytes = sgd.stateBytes()
        // The velocity is exactly 0.5 after the first step: its stored bit pattern, as 8 bytes.
        let half = HostileStateTests.u64(UInt64(Float(0.5).bitPattern))
        let at = try #require((0...(bytes.count - 8)).first { Array(bytes[$0..<($0 + 8)]) == half })
        bytes.replaceSubrange(at..<(at + 8), with: HostileStateTests.u64(UInt64(Float.nan.bitPattern)))
        let body = Array(bytes.dropLast(8))
        bytes = body + HostileStateTests.u64(HostileStateTests.crc32(body))
        var fresh = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9))
        _ = try fresh.register(.vector(length: 4))
        let error = #expect(throws: NGError.self) { try fresh.restore(stateBytes: bytes) }
        guard case let .corruptState(_, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(reason.contains("non-finite"), "\(reason)")
    }

    /// Threads saving to one path: every save succeeds and the file loads.
    @Test func concurrentSavesToOnePathAllSucceed() async throws {
        let url = folder.appendingPathComponent("state")
        var optimizer = try NGPlusOptimizer<Float>()
        _ = try optimizer.register(.dense(outputs: 16, inputs: 32, bias: true))
        let snapshot = optimizer
        let failures = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var failed = 0
                    for _ in 0..<25 where (try? snapshot.save(to: url)) == nil { failed += 1 }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
        var loaded = try NGPlusOptimizer<Float>()
        _ = try loaded.register(.dense(outputs: 16, inputs: 32, bias: true))
        try loaded.load(from: url)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        #expect(leftovers == ["state"])
    }

    /// A temporary file of a save whose process died is removed by the next save. One that a
    /// live saver holds is left alone even when its name carries a process id that no process
    /// here has (a saver in another PID namespace): liveness is its lock, not the id.
    @Test func onlyTemporariesNoSaverHoldsAreRemoved() throws {
        let url = folder.appendingPathComponent("state")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let deadPID = child.processIdentifier
        let dead = folder.appendingPathComponent(".state.\(deadPID).1.tmp")
        let held = folder.appendingPathComponent(".state.\(deadPID).2.tmp")
        let unrelated = folder.appendingPathComponent(".state.backup.tmp")
        try Data(count: 4096).write(to: dead)
        try Data(count: 16).write(to: held)
        try Data(count: 8).write(to: unrelated)
        // Held as a saver holds it: open, under an exclusive lock.
        let descriptor = open(held.path, O_WRONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try #require(flock(descriptor, LOCK_EX) == 0)
        var optimizer = try SGDOptimizer<Float>(settings: SGDSettings())
        _ = try optimizer.register(.vector(length: 3))
        try optimizer.save(to: url)
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(FileManager.default.fileExists(atPath: held.path))
        #expect(FileManager.default.fileExists(atPath: unrelated.path))
        // Once its saver is gone, the next save removes it.
        close(descriptor)
        try optimizer.save(to: url)
        #expect(!FileManager.default.fileExists(atPath: held.path))
    }

    /// A URL that names a folder (ending in `/`, or an existing folder) is refused, and nothing
    /// is written: a missing folder is not created as a file of its name.
    @Test func aFolderIsRefusedAsASaveTarget() throws {
        var optimizer = try SGDOptimizer<Float>(settings: SGDSettings())
        _ = try optimizer.register(.vector(length: 3))
        let missing = URL(fileURLWithPath: folder.path + "/missing/")
        #expect(missing.hasDirectoryPath)
        let error = #expect(throws: OptimizerError.self) { try optimizer.save(to: missing) }
        guard case let .fileError(_, _, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(reason.contains("names a folder"), "\(reason)")
        #expect(throws: OptimizerError.self) { try optimizer.save(to: folder) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}
