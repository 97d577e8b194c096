import NGKernels
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// Convolutions by sample hand NG+ the per-sample weight gradients their backward pass formed
/// (`LayerOptimizer.observe(_:sampleGradients:)`) in place of X and dY, from which the
/// optimizer would form the same products again.
@Suite struct SampleGradientStatisticsTests {
    /// Three convolutions by sample, one of each path — unfolded tiles of samples with row
    /// products (2 → 4 channels, patches of 19 rows), direct (4 → 4, 37 rows), direct and
    /// pooled (4 → 3) — then a dense layer.
    static func network() throws -> Model<Double> {
        var generator = SeededGenerator(seed: 431)
        let first = try ConvGeometry(inChannels: 2, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let same = try ConvGeometry(inChannels: 4, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        return Model(layers: [
            try Conv2d<Double>(geometry: first, outChannels: 4, computesInputGradient: false, using: &generator),
            try Conv2d<Double>(geometry: same, outChannels: 4, using: &generator),
            try PooledConv2d<Double>(geometry: same, outChannels: 3, using: &generator),
            try Dense<Double>(inputs: 27, outputs: 4, using: &generator),
        ])
    }

    /// Five steps of `base` on a batch of 8, handing per-sample gradients or not, on `threads`
    /// threads: the trained weights and the per-sample observations made.
    static func train<O: LayerOptimizer>(
        _ base: O, handsSampleGradients: Bool, threads: Int = 1
    ) throws -> (weights: [Matrix<Double>], observations: Int) where O.Scalar == Double {
        ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
        defer { ParallelLoop.threadCountOverride.store(0, ordering: .relaxed) }
        let model = try network()
        var optimizer = ShareOfBatch(base, localRows: 0..<8, observes: true, handsSampleGradients: handsSampleGradients)
        try model.register(with: &optimizer)
        var generator = SeededGenerator(seed: 432)
        let x = Matrix<Double>.random(rows: 8, columns: 72, using: &generator)
        for _ in 0..<5 { _ = try model.trainStep(x, labels: [0, 1, 2, 3, 0, 1, 2, 3], synchronizing: &optimizer) }
        return (model.trainableLayers.map { $0.weight }, optimizer.sampleGradientObservations)
    }

    static func ngplus(_ side: SideChoice) throws -> NGPlusOptimizer<Double> {
        try NGPlusOptimizer(configuration: NGPlusConfiguration(inverseInterval: 2, side: side, batchSize: 8))
    }

    /// NG+ trained on the per-sample gradients ends where it ends from X and dY, to the
    /// rounding of the sums' other order amplified by the damped inverses (10⁻⁹ of the weights'
    /// size), on either side: three layers on each of the three statistics steps handed them.
    /// K-FAC, whose factors need X and dY, is never handed any.
    @Test(arguments: [SideChoice.left, .right]) func ngplusTrainsTheSameFromPerSampleGradients(side: SideChoice) throws {
        let handed = try Self.train(Self.ngplus(side), handsSampleGradients: true)
        let observed = try Self.train(Self.ngplus(side), handsSampleGradients: false)
        #expect(handed.observations == 9 && observed.observations == 0)
        for (a, b) in zip(handed.weights, observed.weights) {
            let scale = max(largestMagnitude(a), 1)
            #expect(zip(a.elements, b.elements).allSatisfy { abs($0 - $1) <= 1e-9 * scale })
        }
        let kfac = try Self.train(
            KFACOptimizer<Double>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 8)),
            handsSampleGradients: true)
        #expect(kfac.observations == 0)
    }

    /// Each sample's gradient is its own product, and the groups' sums keep their order: one
    /// thread and three train to the same bits.
    @Test func keptGradientsDoNotDependOnTheThreadCount() throws {
        let one = try Self.train(Self.ngplus(.right), handsSampleGradients: true, threads: 1)
        let three = try Self.train(Self.ngplus(.right), handsSampleGradients: true, threads: 3)
        #expect(one.weights == three.weights)
    }
}
