import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// A model's parameters and BatchNorm running statistics saved and restored, all or nothing.
@Suite struct ModelParametersTests {
    /// A small ResNet after three training steps (its running statistics moved): another
    /// model of the same layers restored from its bytes evaluates to the same outputs, bit for
    /// bit, and saves the same bytes; through a file too.
    @Test func aTrainedResNetRoundTripsWithItsRunningStatistics() throws {
        let model = try Model<Float>.resnet(height: 8, width: 8, widths: [4, 8], blocks: 1, seed: 1)
        var optimizer = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.05, momentum: 0.9))
        try model.register(with: &optimizer)
        var generator = SeededGenerator(seed: 601)
        let x = Matrix<Float>.random(rows: 6, columns: 64, using: &generator)
        for _ in 0..<3 { _ = try model.trainStep(x, labels: [0, 1, 2, 3, 4, 5], optimizer: &optimizer) }
        let bytes = model.parameterBytes()
        let other = try Model<Float>.resnet(height: 8, width: 8, widths: [4, 8], blocks: 1, seed: 2)
        #expect(try other.forward(x) != model.forward(x))
        try other.restore(parameterBytes: bytes)
        #expect(try other.forward(x) == model.forward(x))
        #expect(other.parameterBytes() == bytes)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ngplus-model-\(UUID()).ngpm")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(to: url)
        let third = try Model<Float>.resnet(height: 8, width: 8, widths: [4, 8], blocks: 1, seed: 3)
        try third.load(from: url)
        #expect(third.parameterBytes() == bytes)
    }

    /// Damaged, truncated, another model's, another scalar's and non-finite bytes are refused
    /// and the model keeps every parameter.
    @Test func badBytesAreRefusedWithNothingChanged() throws {
        let model = try Model<Float>.mlp(inputs: 6, classes: 3, seed: 1)
        let before = model.parameterBytes()
        var damaged = before
        damaged[damaged.count / 2] ^= 1
        let nonFinite = try Model<Float>.mlp(inputs: 6, classes: 3, seed: 2)
        nonFinite.trainableLayers[1].weight[0, 0] = .nan
        for bad in [
            damaged, Array(before.dropLast(9)), try Model<Float>.mlp(inputs: 7, classes: 3, seed: 1).parameterBytes(),
            try Model<Double>.mlp(inputs: 6, classes: 3, seed: 1).parameterBytes(), nonFinite.parameterBytes(),
            try Model<Float>.cnn(height: 4, width: 4, classes: 3, seed: 1).parameterBytes(),
        ] {
            #expect(throws: NGError.self) { try model.restore(parameterBytes: bad) }
            #expect(model.parameterBytes() == before)
        }
        #expect(throws: OptimizerError.self) { try model.load(from: URL(fileURLWithPath: "/nonexistent/model")) }
    }
}
