import NGPlus
import NGTestSupport
import Testing

/// `LayerOptimizer.takesSampleGradients` and `observe(_:sampleGradients:)`: which steps of which
/// optimizers take a convolution's per-sample gradients, and that a bad or unwanted one is
/// refused with nothing changed (or, under `.skipStep`, a non-finite one skips the step).
@Suite struct SampleGradientObservationTests {
    static let geometry = try! ConvGeometry(inChannels: 2, height: 5, width: 5, kernelHeight: 3, kernelWidth: 3, padding: 1)
    /// K + 1 = 19 rows, three filters.
    static let conv = LayerSpec.conv2d(geometry: geometry, outChannels: 3, bias: true)

    @Test func onlyNGPlusConvolutionsTakeThemOnStatisticsSteps() throws {
        var ngplus = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 4))
        let (conv, dense) = (try ngplus.register(Self.conv), try ngplus.register(.dense(outputs: 3, inputs: 4, bias: true)))
        #expect(ngplus.takesSampleGradients(conv) && !ngplus.takesSampleGradients(dense))
        #expect(!ngplus.takesSampleGradients(LayerHandle(index: 7)))
        var generator = SeededGenerator(seed: 61)
        var weight = Matrix<Float>.random(rows: 3, columns: 19, scale: 0.1, using: &generator)
        try ngplus.observe(conv, sampleGradients: Matrix.random(rows: 19, columns: 12, using: &generator))
        try ngplus.step(conv, weight: &weight, gradient: Matrix.random(rows: 3, columns: 19, using: &generator))
        // Step 1 is not a statistics step (every second one is).
        #expect(!ngplus.takesSampleGradients(conv))

        var kfac = try KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 4))
        #expect(!kfac.takesSampleGradients(try kfac.register(Self.conv)))
        var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1))
        #expect(!sgd.takesSampleGradients(try sgd.register(Self.conv)))
    }

    @Test func badOrUnwantedGradientsAreRefusedWithNothingChanged() throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 4))
        let conv = try optimizer.register(Self.conv)
        let dense = try optimizer.register(.dense(outputs: 3, inputs: 4, bias: true))
        var generator = SeededGenerator(seed: 62)
        let good = Matrix<Float>.random(rows: 19, columns: 12, using: &generator)
        var nan = good
        nan[18, 11] = .nan
        let operation: NGError.Operation = "NGPlusOptimizer.observe"
        let before = optimizer.stateBytes()
        #expect(throws: NGError.shapeMismatch(
            operation: operation, argument: "sampleGradients", expected: Shape(19, 12), actual: Shape(18, 12))) {
            try optimizer.observe(conv, sampleGradients: Matrix(rows: 18, columns: 12))
        }
        #expect(throws: NGError.shapeMismatch(
            operation: operation, argument: "sampleGradients", expected: Shape(19, 12), actual: Shape(19, 13))) {
            try optimizer.observe(conv, sampleGradients: Matrix(rows: 19, columns: 13))
        }
        #expect(throws: NGError.nonFinite(operation: operation, argument: "sampleGradients", row: 18, column: 11)) {
            try optimizer.observe(conv, sampleGradients: nan)
        }
        #expect(throws: NGError.self) { try optimizer.observe(dense, sampleGradients: good) }
        #expect(throws: OptimizerError.self) { try optimizer.observe(LayerHandle(index: 9), sampleGradients: good) }
        #expect(optimizer.stateBytes() == before)

        var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1))
        let sgdConv = try sgd.register(Self.conv)
        let sgdBefore = sgd.stateBytes()
        #expect(throws: NGError.self) { try sgd.observe(sgdConv, sampleGradients: good) }
        #expect(sgd.stateBytes() == sgdBefore)
    }

    /// Under `.skipStep` a non-finite observation is dropped and the step it was for skipped
    /// and counted, nothing changed; the next statistics step trains.
    @Test func aNonFiniteObservationSkipsTheStep() throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 4))
        optimizer.nonFinitePolicy = .skipStep
        let conv = try optimizer.register(Self.conv)
        var generator = SeededGenerator(seed: 63)
        var weight = Matrix<Float>.random(rows: 3, columns: 19, scale: 0.1, using: &generator)
        let gradient = Matrix<Float>.random(rows: 3, columns: 19, using: &generator)
        var nan = Matrix<Float>.random(rows: 19, columns: 12, using: &generator)
        nan[0, 0] = .infinity
        let (before, weightBefore) = (optimizer.stateBytes(), weight)
        try optimizer.observe(conv, sampleGradients: nan)
        try optimizer.step(conv, weight: &weight, gradient: gradient)
        #expect(try optimizer.skippedSteps(of: conv) == 1)
        #expect(optimizer.stateBytes() == before && weight == weightBefore)
        try optimizer.observe(conv, sampleGradients: Matrix.random(rows: 19, columns: 12, using: &generator))
        try optimizer.step(conv, weight: &weight, gradient: gradient)
        #expect(weight != weightBefore)
    }
}
