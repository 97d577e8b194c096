import Foundation

/// The package's libFuzzer targets: code that reads bytes a user does not control, each given
/// one input by `run`. An input may be rejected only by a typed error; a crash, a trap, or a
/// broken promise (a failed load that changed the state, a file read as other than it says)
/// is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `restore(stateBytes:)` of NG+ (Float, and Double with Woodbury layers), K-FAC and Adam.
    case checkpoint
    /// `IDXFile(path:)` on plain files, on IDX bytes behind gzip, and on damaged gzip streams.
    case idx
    /// `TextCorpus.fortunes(directory:)` on folders of one to three hostile files, and
    /// `TextCorpus.tokenWindows` on what loads.
    case text

    /// Runs one input; true when the code under test accepted it (a seed must be accepted, or
    /// it explores nothing past the first check).
    @discardableResult
    public func run(_ input: [UInt8]) -> Bool {
        switch self {
        case .checkpoint: return CheckpointFuzzing.run(input)
        case .idx: return IDXFuzzing.run(input)
        case .text: return TextCorpusFuzzing.run(input)
        }
    }

    /// A folder of this process's own for a target's input files, so that parallel fuzzing
    /// jobs do not share a file: in memory (`/dev/shm`) where there is one.
    static func scratchFolder(_ target: String) -> URL {
        let shared = URL(fileURLWithPath: "/dev/shm")
        let base = FileManager.default.isWritableFile(atPath: shared.path) ? shared : FileManager.default.temporaryDirectory
        return base.appendingPathComponent("ngfuzz-\(target)-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// Removes the files this process's targets wrote their inputs to.
    public static func removeScratchFiles() {
        try? FileManager.default.removeItem(at: IDXFuzzing.folder)
        try? FileManager.default.removeItem(at: TextCorpusFuzzing.folder)
    }

    /// The seed corpus, made deterministically from states and files this package writes:
    /// file names and their bytes.
    public func seeds() throws -> [(name: String, bytes: [UInt8])] {
        switch self {
        case .checkpoint: try CheckpointFuzzing.seeds()
        case .idx: try IDXFuzzing.seeds()
        case .text: try TextCorpusFuzzing.seeds()
        }
    }
}
