import Foundation
import NGPlus
import NGTrain
import Testing

/// Models and layers whose sizes the caller chose too large for this machine, or out of their
/// range, are refused with `invalidArgument` before anything is allocated — never an abort in
/// the allocator. The sizes here need terabytes, so each check returns at once or not at all.
@Suite struct ImpossibleModelTests {
    /// The reason of an `invalidArgument`, or a recorded issue.
    func reason(_ error: NGError?) -> String {
        guard case let .invalidArgument(_, _, reason)? = error else {
            Issue.record("expected invalidArgument, got \(String(describing: error))")
            return ""
        }
        return reason
    }

    @Test(arguments: [(1 << 20, 8), (8, 1 << 20), (1 << 19, 1 << 19)])
    func aTransformerLargerThanTheMachineIsRefusedNamingItsBytes(sequenceLength: Int, width: Int) {
        let error = #expect(throws: NGError.self) {
            try Model<Float>.transformer(sequenceLength: sequenceLength, width: width, heads: 1, blocks: 1, seed: 1)
        }
        let text = reason(error)
        #expect(text.contains("would need") && text.contains("TB") && text.contains("more than this machine's memory"), "\(text)")
    }

    /// The T × T scores of a 2²⁰-token sequence: 4.4 TB in Float, named in the error.
    @Test func theLargestPartIsNamed() {
        let error = #expect(throws: NGError.self) {
            try Model<Float>.transformer(sequenceLength: 1 << 20, width: 8, heads: 1, blocks: 1, seed: 1)
        }
        #expect(reason(error).contains("4.4 TB (4398046511104 bytes) of it for one head's 1048576 × 1048576 attention scores"))
    }

    @Test func layersRefuseImpossibleSizes() throws {
        var generator = SeededGenerator(seed: 1)
        #expect(throws: NGError.self) { try Dense<Float>(inputs: 0, outputs: 3, using: &generator) }
        #expect(throws: NGError.self) { try Dense<Float>(inputs: 1 << 30, outputs: 1 << 30, using: &generator) }
        #expect(throws: NGError.self) { try Dense<Double>(inputs: Int.max, outputs: 2, using: &generator) }
        #expect(throws: NGError.self) { try CausalAttention<Float>(sequenceLength: 1 << 20, heads: 1, width: 8) }
        #expect(throws: NGError.self) { try PositionEmbedding<Double>(sequenceLength: 1 << 20, width: 1 << 20) }
        #expect(throws: NGError.self) { try TokenEmbedding<Float>(vocabulary: 1 << 24, width: 1 << 24, using: &generator) }
        #expect(throws: NGError.self) { try Residual<Float>([]) }
        let geometry = try ConvGeometry(inChannels: 1, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(throws: NGError.self) { try Conv2d<Float>(geometry: geometry, outChannels: 0, using: &generator) }
        #expect(throws: NGError.self) { try Conv2d<Float>(geometry: geometry, outChannels: Int.max, using: &generator) }
    }

    @Test func theImageModelsRefuseImpossibleSizes() {
        #expect(throws: NGError.self) { try Model<Float>.mlp(inputs: 0, seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.mlp(inputs: 1 << 40, seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.mlp(classes: -1, seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.cnn(height: 3, seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.cnn(height: 1 << 20, width: 1 << 20, seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.cnn(classes: 0, seed: 1) }
    }

    /// The attention probabilities of one 4096-token sequence of 1024 heads: 68.7 GB in Float.
    static let probabilityBytes = 4096.0 * 4096 * 1024 * 4

    /// A forward pass told to keep attention probabilities that need more memory than the
    /// machine has is refused before they are allocated.
    @Test(.enabled(if: Double(ProcessInfo.processInfo.physicalMemory) < probabilityBytes, "this machine holds them"))
    func anAttentionBatchLargerThanTheMachineIsRefused() throws {
        let attention = try CausalAttention<Float>(sequenceLength: 4096, heads: 1024, width: 1024, probabilityLimit: .max)
        #expect(attention.keepsProbabilities(sequences: 1))
        let x = Matrix<Float>(rows: 4096, columns: 3 * 1024)
        let error = #expect(throws: NGError.self) { try attention.forward(x) }
        #expect(reason(error).contains("attention probabilities"))
    }

    /// A sequence trainer whose batch of token rows no machine holds is refused when made, before
    /// a step allocates it.
    @Test func aSequenceBatchLargerThanTheMachineIsRefused() {
        let error = #expect(throws: NGError.self) {
            try SequenceTrainer(sequences: 1 << 30, length: 1 << 20, stepsPerEpoch: 1, seed: 1)
        }
        #expect(reason(error).contains("tokens"), "\(reason(error))")
        #expect(throws: NGError.self) { try SequenceTrainer(sequences: Int.max, length: Int.max, stepsPerEpoch: 1, seed: 1) }
    }

    /// Sizes a machine holds still build.
    @Test func ordinarySizesStillBuild() throws {
        _ = try Model<Float>.transformer(sequenceLength: 16, width: 8, heads: 2, blocks: 2, seed: 1)
        _ = try Model<Float>.mlp(seed: 1)
        _ = try Model<Float>.cnn(height: 4, width: 4, seed: 1)
    }
}
