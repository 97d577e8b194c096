import NGKernels
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// Convolutions by sample hand NG+ the per-sample weight gradients their backward pass formed
/// (`LayerOptimizer.observe(_:sampleGradients:)`) in place of X and dY, from which the
/// optimizer would form the same products again.
@Suite struct SampleGradientStatisticsTests {
    /// Four convolutions by sample, one of each path — unfolded tiles of samples with row
    /// products (2 → 4 channels, patches of 19 rows), unfolded tiles with the transposed tile
    /// product (4 → 4 at stride 3, 37 rows; a dense layer then brings 2 × 2 back to 6 × 6),
    /// direct (4 → 4), direct and pooled (4 → 3) — then a dense layer.
    static func network() throws -> Model<Double> {
        var generator = SeededGenerator(seed: 431)
        let first = try ConvGeometry(inChannels: 2, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let same = try ConvGeometry(inChannels: 4, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let strided = try ConvGeometry(
            inChannels: 4, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, stride: 3, padding: 1)
        return Model(layers: [
            try Conv2d<Double>(geometry: first, outChannels: 4, computesInputGradient: false, using: &generator),
            try Conv2d<Double>(geometry: strided, outChannels: 4, using: &generator),
            try Dense<Double>(inputs: 16, outputs: 144, using: &generator),
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
        try NGPlusOptimizer(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 0.01, momentum: 0.9), damping: 0.1, inverseInterval: 2, side: side, batchSize: 8))
    }

    /// NG+ trained on the per-sample gradients ends where it ends from X and dY, to the
    /// rounding of the GFIM's sums in another order carried through five steps (10⁻¹² of the
    /// weights' size; about 10⁻¹⁶ seen), on either side: four layers on each of the three
    /// statistics steps handed them. Learning rate 0.01 and λ = 0.1 keep the five steps out of
    /// the chaotic regime in which the default 0.1 and 10⁻³ (with GFIMs of rank below their
    /// order at a batch of 8) amplify a last-bit difference to 10⁻⁴. K-FAC, whose factors need
    /// X and dY, is never handed any.
    @Test(arguments: [SideChoice.left, .right]) func ngplusTrainsTheSameFromPerSampleGradients(side: SideChoice) throws {
        let handed = try Self.train(Self.ngplus(side), handsSampleGradients: true)
        let observed = try Self.train(Self.ngplus(side), handsSampleGradients: false)
        #expect(handed.observations == 12 && observed.observations == 0)
        for (a, b) in zip(handed.weights, observed.weights) {
            let scale = max(largestMagnitude(a), 1)
            let worst = zip(a.elements, b.elements).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-12 * scale, "\(a.shape): \(worst) of \(scale)")
        }
        let kfac = try Self.train(
            KFACOptimizer<Double>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 8)),
            handsSampleGradients: true)
        #expect(kfac.observations == 0)
    }

    /// The gradients a layer hands over are, column block by column block, the transposed
    /// weight gradient of each sample alone (the layer run on a batch of that one sample), to
    /// the rounding of sums of B·P terms, for every path: unfolded with row products (2 → 4),
    /// unfolded with the transposed tile product at stride 3 (4 → 4), direct (4 → 4), direct
    /// and pooled (4 → 3), unfolded and pooled (1 → 3), direct at stride 2 (4 → 4), and
    /// unfolded and pooled without an input gradient, from the pooled gradient alone (1 → 3).
    @Test(arguments: 0..<7) func handedGradientsAreEachSamplesOwn(path: Int) throws {
        let geometry = try ConvGeometry(
            inChannels: [2, 4, 4, 4, 1, 4, 1][path], height: 6, width: 6, kernelHeight: 3, kernelWidth: 3,
            stride: [1, 3, 1, 1, 1, 2, 1][path], padding: 1)
        let pooled = [3, 4, 6].contains(path)
        let outChannels = pooled ? 3 : 4
        func layer() throws -> any TrainableLayer<Double> {
            var generator = SeededGenerator(seed: 433)
            return pooled
                ? try PooledConv2d<Double>(
                    geometry: geometry, outChannels: outChannels, computesInputGradient: path != 6, using: &generator)
                : try Conv2d<Double>(geometry: geometry, outChannels: outChannels, using: &generator)
        }
        let batch = 11
        var generator = SeededGenerator(seed: 434)
        let x = Matrix<Double>.random(rows: batch, columns: geometry.inputLength, using: &generator)
        let whole = try layer()
        var optimizer = ShareOfBatch(
            try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: batch)),
            localRows: 0..<batch, observes: true, handsSampleGradients: true)
        whole.handle = try optimizer.register(whole.spec)
        whole.prepareStep(for: optimizer)
        let y = try whole.forward(x)
        let dy = Matrix<Double>.random(rows: batch, columns: y.columns, using: &generator)
        _ = try whole.backward(dy)
        try whole.submit(to: &optimizer)
        let kept = optimizer.lastSampleGradients
        #expect(kept.shape == Shape(geometry.patchSize + 1, batch * outChannels))
        for i in 0..<batch {
            let alone = try layer()
            _ = try alone.forward(Matrix(rows: 1, columns: x.columns) { _, j in x[i, j] })
            _ = try alone.backward(Matrix(rows: 1, columns: dy.columns) { _, j in dy[i, j] })
            let own = try handedGradient(alone)
            let scale = max(largestMagnitude(own), 1)
            for o in 0..<outChannels {
                for r in 0...geometry.patchSize {
                    #expect(abs(kept[r, i * outChannels + o] - own[o, r]) <= 1e-12 * scale, "sample \(i) [\(o), \(r)]")
                }
            }
        }
    }

    /// Each sample's gradient is its own product, and the groups' sums keep their order: one
    /// thread and three train to the same bits.
    @Test func keptGradientsDoNotDependOnTheThreadCount() throws {
        let one = try Self.train(Self.ngplus(.right), handsSampleGradients: true, threads: 1)
        let three = try Self.train(Self.ngplus(.right), handsSampleGradients: true, threads: 3)
        #expect(one.weights == three.weights)
    }
}
