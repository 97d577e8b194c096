import Foundation
import NGFuzzTargets
import Testing

/// The corpus under `Fuzz/Corpus`: the seeds and every input a fuzzing run kept because it
/// crashed once (named `crash-…`), replayed through its target on every test run, so a fixed
/// finding stays fixed. The seeds must load: a change of the state format regenerates them
/// (`swift run ngfuzz TARGET --write-seeds Fuzz/Corpus/TARGET`). Serialized: the IDX target
/// writes its inputs to files of this process.
@Suite(.serialized) struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplaysWithoutAFinding(_ target: FuzzTarget) throws {
        let folder = Self.corpus.appendingPathComponent(target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(!names.isEmpty)
        defer { FuzzTarget.removeScratchFiles() }
        for name in names {
            target.run(Array(try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }

    /// A seed the target rejects explores nothing past the first check. (The seeds are not
    /// compared byte for byte with `seeds()`: the trained states they hold differ in their last
    /// bits with the OpenBLAS kernels and thread count that made them.)
    @Test(arguments: FuzzTarget.allCases)
    func committedSeedsAreAccepted(_ target: FuzzTarget) throws {
        let folder = Self.corpus.appendingPathComponent(target.rawValue)
        for seed in try target.seeds() {
            let bytes = Array(try Data(contentsOf: folder.appendingPathComponent(seed.name)))
            #expect(target.run(bytes), "\(target.rawValue)/\(seed.name) is rejected: regenerate the seeds")
        }
    }
}
