import Foundation

/// The race's file of trials: one JSON object a line, appended as each trial ends, so that a
/// race interrupted at any moment resumes from what it wrote (a line cut short by the
/// interruption is dropped and its trial run again).
struct RaceLog {
    let path: String
    /// The trials read from the file and run since, by key.
    private(set) var trials: [String: RaceTrial] = [:]

    /// Reads the trials already in `path` (none when there is no file) and rewrites the file
    /// with the complete lines only.
    init(path: String) throws {
        self.path = path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        var kept: [String] = []
        for line in text.split(separator: "\n") {
            guard let trial = try? JSONDecoder().decode(RaceTrial.self, from: Data(line.utf8)) else { continue }
            trials[trial.key] = trial
            kept.append(String(line))
        }
        try (kept.map { $0 + "\n" }.joined()).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The finished trial of `trial`'s key, when it was run with the same plan and settings.
    func finished(_ trial: RaceTrial) -> RaceTrial? {
        guard let done = trials[trial.key], done.plan == trial.plan, done.hyperparameters == trial.hyperparameters
        else { return nil }
        return done
    }

    /// Appends `trial` to the file.
    mutating func append(_ trial: RaceTrial) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(trial)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: path), !FileManager.default.createFile(atPath: path, contents: nil) {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        try handle.synchronize()
        trials[trial.key] = trial
    }
}
