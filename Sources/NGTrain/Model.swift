import NGPlus

/// A sequential model: layers in order, softmax cross-entropy on the last one's output for
/// class labels (`trainStep(_:labels:optimizer:)`), mean squared error for values
/// (`trainStep(_:targets:optimizer:)`).
public final class Model<Scalar: NetworkScalar> {
    public let layers: [any NetworkLayer<Scalar>]
    var lossFunction = SoftmaxCrossEntropy<Scalar>()
    var squaredError = MeanSquaredError<Scalar>()
    var batchImages = Matrix<Scalar>(rows: 0, columns: 0)

    /// The layers with parameters, in order (found once: a step must not allocate).
    public let trainableLayers: [any TrainableLayer<Scalar>]

    /// Where the time of the training steps goes, layer by layer, while attached (nil: not
    /// recorded). `recordLayerTimes()` attaches a new account.
    public private(set) var layerTimes: LayerTimeAccount?

    /// The layers that normalize by batch statistics in training (`BatchStatisticsLayer`).
    let batchStatisticsLayers: [any BatchStatisticsLayer]
    /// The batch normalization layers' sums over the processes, once registered with a
    /// data-parallel optimizer.
    var crossProcessSums: (any CrossProcessSums)?

    public init(layers: [any NetworkLayer<Scalar>]) {
        self.layers = layers
        trainableLayers = Self.trainable(in: layers)
        batchStatisticsLayers = Self.leaves(of: layers).compactMap { $0 as? any BatchStatisticsLayer }
    }

    /// The trainable layers in order, those inside containers (residual blocks) included.
    static func trainable(in layers: [any NetworkLayer<Scalar>]) -> [any TrainableLayer<Scalar>] {
        leaves(of: layers).compactMap { $0 as? any TrainableLayer<Scalar> }
    }

    /// The layers in order with every container (a residual block) replaced by its sublayers;
    /// `keepingContainers`, each container kept before them (the rows of a time account, a
    /// container's holding its own passes: a residual block's sum).
    static func leaves(
        of layers: [any NetworkLayer<Scalar>], keepingContainers: Bool = false
    ) -> [any NetworkLayer<Scalar>] {
        layers.flatMap { layer -> [any NetworkLayer<Scalar>] in
            guard let container = layer as? any LayerContainer<Scalar> else { return [layer] }
            return (keepingContainers ? [layer] : []) + leaves(of: container.sublayers, keepingContainers: keepingContainers)
        }
    }

    /// 784 → 256 → 256 → 10 with ReLUs.
    /// - Throws: `invalidArgument` for a size below 1, or weights larger than this machine's
    ///   memory.
    public static func mlp(inputs: Int = 784, classes: Int = 10, seed: UInt64) throws(NGError) -> Model {
        var requirement = MemoryRequirement()
        for (n, m) in [(inputs, 256), (256, 256), (256, classes)] {
            try LayerSpec.dense(outputs: m, inputs: n, bias: true).validate(.modelMLP)
            requirement.add(Dense<Scalar>.memory(inputs: n, outputs: m))
        }
        try requirement.check(.modelMLP, argument: "inputs, classes")
        var generator = SeededGenerator(seed: seed)
        return Model(layers: [
            try Dense<Scalar>(inputs: inputs, outputs: 256, computesInputGradient: false, using: &generator), ReLU<Scalar>(),
            try Dense<Scalar>(inputs: 256, outputs: 256, using: &generator), ReLU<Scalar>(),
            try Dense<Scalar>(inputs: 256, outputs: classes, using: &generator),
        ])
    }

    /// conv3×3(32)-pool-conv3×3(64)-pool-dense(128)-dense(10), ReLUs after the convolutions and
    /// the first dense layer, "same" padding. Each convolution, its ReLU and its pooling are one
    /// `PooledConv2d` (a sample at a time, its full-resolution output never stored); the second
    /// reads its padded input planes in place (`DirectConvolutionLayout`).
    /// - Throws: `invalidArgument` for an image smaller than 4 × 4 (two poolings halve it), a
    ///   size whose products overflow, or weights larger than this machine's memory.
    public static func cnn(height: Int = 28, width: Int = 28, classes: Int = 10, seed: UInt64) throws(NGError) -> Model {
        for (name, value) in [("height", height), ("width", width)] where value < 4 {
            throw .invalidArgument(operation: .modelCNN, argument: name, reason: "must be at least 4 (two 2 × 2 poolings), got \(value)")
        }
        let first = try ConvGeometry(inChannels: 1, height: height, width: width, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let second = try ConvGeometry(inChannels: 32, height: height / 2, width: width / 2, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let (planes, overflow) = (height / 4).multipliedReportingOverflow(by: width / 4)
        try NGError.Operation.modelCNN.require(
            !overflow && planes <= Int(Int32.max) / 64, "height, width",
            "\(height) × \(width) flattens to more than Int32.max values")
        let flattened = 64 * planes
        var requirement = MemoryRequirement()
        for (n, m) in [(flattened, 128), (128, classes)] {
            try LayerSpec.dense(outputs: m, inputs: n, bias: true).validate(.modelCNN)
            requirement.add(Dense<Scalar>.memory(inputs: n, outputs: m))
        }
        try requirement.check(.modelCNN, argument: "height, width, classes")
        var generator = SeededGenerator(seed: seed)
        return Model(layers: [
            try PooledConv2d<Scalar>(geometry: first, outChannels: 32, computesInputGradient: false, using: &generator),
            try PooledConv2d<Scalar>(geometry: second, outChannels: 64, using: &generator),
            try Dense<Scalar>(inputs: flattened, outputs: 128, using: &generator), ReLU<Scalar>(),
            try Dense<Scalar>(inputs: 128, outputs: classes, using: &generator),
        ])
    }

    /// A decoder-only byte-level language model on sequences of `sequenceLength` bytes: each
    /// token row is its byte's id (one column, `TextCorpus.tokenWindows`), looked up in a
    /// 256 × width `TokenEmbedding` (stepped sparsely), then learned positions, `blocks` pre-LayerNorm blocks — `x + Attention(LN(x))` (fused
    /// QKV projection, causal attention of `heads` heads, output projection) and
    /// `x + MLP(LN(x))` (width → 4·width, GELU, → width) — a final LayerNorm, and the logits of
    /// the next byte (`Dense(width → 256)`), trained with softmax cross-entropy per token row.
    /// - Throws: `invalidArgument` for a size out of its layer's range, and — before anything
    ///   is allocated — for a model larger than this machine's memory, naming its bytes.
    public static func transformer(
        sequenceLength: Int, width: Int, heads: Int, blocks: Int, seed: UInt64
    ) throws(NGError) -> Model {
        try NGError.Operation.modelTransformer.require(blocks >= 1, "blocks", "must be at least 1, got \(blocks)")
        try transformerMemory(sequenceLength: sequenceLength, width: width, blocks: blocks).check(
            .modelTransformer, argument: "sequenceLength, width, blocks")
        var generator = SeededGenerator(seed: seed)
        let vocabulary = TextCorpus.vocabulary
        var layers: [any NetworkLayer<Scalar>] = [
            try TokenEmbedding<Scalar>(vocabulary: vocabulary, width: width, using: &generator),
            try PositionEmbedding<Scalar>(sequenceLength: sequenceLength, width: width),
        ]
        for _ in 0..<blocks {
            layers.append(try Residual([
                try LayerNorm<Scalar>(width: width),
                try Dense<Scalar>(inputs: width, outputs: 3 * width, using: &generator),
                try CausalAttention<Scalar>(sequenceLength: sequenceLength, heads: heads, width: width),
                try Dense<Scalar>(inputs: width, outputs: width, using: &generator),
            ]))
            layers.append(try Residual([
                try LayerNorm<Scalar>(width: width),
                try Dense<Scalar>(inputs: width, outputs: 4 * width, using: &generator), GELU<Scalar>(),
                try Dense<Scalar>(inputs: 4 * width, outputs: width, using: &generator),
            ]))
        }
        layers.append(try LayerNorm<Scalar>(width: width))
        layers.append(try Dense<Scalar>(inputs: width, outputs: vocabulary, using: &generator))
        return Model(layers: layers)
    }

    /// What `transformer` allocates when made, layer by layer, from the same formulas the
    /// layers check themselves with.
    static func transformerMemory(sequenceLength: Int, width: Int, blocks: Int) -> MemoryRequirement {
        var block = MemoryRequirement()
        block.add(LayerNorm<Scalar>.memory(width: width), times: 2)
        for (n, m) in [(width, 3 * width), (width, width), (width, 4 * width), (4 * width, width)] {
            block.add(Dense<Scalar>.memory(inputs: n, outputs: m))
        }
        var model = MemoryRequirement()
        model.add(TokenEmbedding<Scalar>.memory(vocabulary: TextCorpus.vocabulary, width: width))
        model.add(PositionEmbedding<Scalar>.memory(sequenceLength: sequenceLength, width: width))
        model.add(block, times: blocks)
        model.add(LayerNorm<Scalar>.memory(width: width))
        model.add(Dense<Scalar>.memory(inputs: width, outputs: TextCorpus.vocabulary))
        return model
    }

    /// Attaches a new, empty account of where the time of the training steps goes
    /// (`LayerTimeAccount`) and returns it; the one attached before stops recording.
    @discardableResult
    public func recordLayerTimes() -> LayerTimeAccount {
        let account = LayerTimeAccount(layers: Self.leaves(of: layers, keepingContainers: true))
        attach(account, to: layers)
        layerTimes = account
        return account
    }

    /// Adds to the attached account each trainable layer's optimizer flops a step
    /// (`LayerOptimizer.extraFlopsPerStep`, less the per-sample gradients a layer that hands them
    /// over formed itself), so that its bound is the optimizer's own; the layers must be
    /// registered with `optimizer`. Does nothing without an account.
    public func countOptimizerFlops<O: LayerOptimizer>(of optimizer: O) throws where O.Scalar == Scalar {
        guard let layerTimes else { return }
        for layer in trainableLayers {
            let handed = layer.handsSampleGradients ? try optimizer.sampleGradientFlopsPerStep(of: layer.handle) : 0
            layerTimes.addOptimizerFlops(try optimizer.extraFlopsPerStep(of: layer.handle) - handed, of: layer)
        }
    }

    func attach(_ account: LayerTimeAccount, to layers: [any NetworkLayer<Scalar>]) {
        for case let container as any LayerContainer<Scalar> in layers {
            container.layerTimes = account
            attach(account, to: container.sublayers)
        }
    }

    /// The GEMM flops of one training sample, layer by layer (see `LayerFlops`).
    public var flopAccount: [LayerFlops] { Self.leaves(of: layers).compactMap { ($0 as? any FlopCountedLayer<Scalar>)?.flops } }

    /// The GEMM flops of one training sample: forward and backward through every layer.
    public var flopsPerSample: Double { flopAccount.reduce(0) { $0 + $1.forward + $1.backward } }

    /// Registers every trainable layer with `optimizer`.
    public func register<O: LayerOptimizer>(with optimizer: inout O) throws(NGError) where O.Scalar == Scalar {
        for layer in trainableLayers { layer.handle = try optimizer.register(layer.spec) }
    }

    /// Registers every trainable layer with a synchronized optimizer (the same order on every
    /// process). When it has `crossProcessSums`, batch normalization in training uses the whole
    /// batch's statistics, over every process's rows.
    public func register<O: SynchronizedOptimizer>(with optimizer: inout O) throws(NGError) where O.Scalar == Scalar {
        for layer in trainableLayers { layer.handle = try optimizer.register(layer.spec) }
        let normalizations = batchNorms
        guard let sums = optimizer.crossProcessSums, let widest = normalizations.map(\.channels).max() else { return }
        // Σx and the count, Σ(x − μ)², Σdy and Σdy·x̂: at most 2·channels values, 3 sums a layer.
        sums.reserve(length: 2 * widest + 1, callsPerStep: 3 * normalizations.count)
        for layer in normalizations { layer.synchronize(with: sums, length: 2 * widest + 1) }
        crossProcessSums = sums
    }

    /// The logits of a batch, in evaluation: batch normalization by its running averages.
    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        for i in batchStatisticsLayers.indices { batchStatisticsLayers[i].usesBatchStatistics = false }
        defer { for i in batchStatisticsLayers.indices { batchStatisticsLayers[i].usesBatchStatistics = true } }
        var activation = x
        for layer in layers { activation = try layer.forward(activation) }
        for layer in layers { layer.release() }
        return activation
    }

    /// One training step on a batch: forward, loss, backward, then every trainable layer's
    /// update by `optimizer` — the synchronized path with nothing to synchronize
    /// (`LocalSteps`). Returns the mean loss.
    public func trainStep<O: LayerOptimizer>(
        _ x: Matrix<Scalar>, labels: ArraySlice<Int>, optimizer: inout O
    ) throws -> Double where O.Scalar == Scalar {
        try trainStep(x, .labels(labels), optimizer: &optimizer)
    }

    /// One training step of a regression (mean squared error against `targets`, a row per
    /// output row: a molecule's energy for SchNet), as `trainStep(_:labels:optimizer:)`.
    public func trainStep<O: LayerOptimizer>(
        _ x: Matrix<Scalar>, targets: Matrix<Scalar>, optimizer: inout O
    ) throws -> Double where O.Scalar == Scalar {
        try trainStep(x, .values(targets), optimizer: &optimizer)
    }

    /// One training step of a regression with a synchronized optimizer, as
    /// `trainStep(_:labels:synchronizing:)`.
    public func trainStep<O: SynchronizedOptimizer>(
        _ x: Matrix<Scalar>, targets: Matrix<Scalar>, synchronizing optimizer: inout O
    ) throws -> Double where O.Scalar == Scalar {
        try trainStep(x, .values(targets), synchronizing: &optimizer)
    }

    func trainStep<O: LayerOptimizer>(
        _ x: Matrix<Scalar>, _ targets: TrainingTargets<Scalar>, optimizer: inout O
    ) throws -> Double where O.Scalar == Scalar {
        try withUnsafeMutablePointer(to: &optimizer) { base in
            var local = LocalSteps(base: base, localRows: 0..<x.rows)
            return try trainStep(x, targets, synchronizing: &local)
        }
    }

    /// One training step of a synchronized optimizer (data-parallel: `x` and `labels` are this
    /// process's rows of the batch; on one process, see `trainStep(_:labels:optimizer:)`): forward, loss, backward, every layer's gradient submitted,
    /// one `synchronize`, every layer's update. Returns the whole batch's mean loss.
    public func trainStep<O: SynchronizedOptimizer>(
        _ x: Matrix<Scalar>, labels: ArraySlice<Int>, synchronizing optimizer: inout O
    ) throws -> Double where O.Scalar == Scalar {
        try trainStep(x, .labels(labels), synchronizing: &optimizer)
    }

    func trainStep<O: SynchronizedOptimizer>(
        _ x: Matrix<Scalar>, _ targets: TrainingTargets<Scalar>, synchronizing optimizer: inout O
    ) throws -> Double where O.Scalar == Scalar {
        let account = layerTimes
        account?.beginStep()
        defer {
            for layer in layers { layer.release() }
            account?.endStep(samples: x.rows)
        }
        // A failure of the forward or backward pass (a token id outside the vocabulary, say) or
        // of a submit still goes to `synchronize`, which tells the other processes (a layer
        // without its gradient is a failure there) instead of leaving them waiting in its
        // collective; this process then throws its own error.
        // Loops by index: a `for`-`in` over the layers in this unspecialized generic code reads
        // them through a coroutine that allocates.
        var failure: (any Error)?
        var loss = 0.0
        crossProcessSums?.beginStep()
        do {
            let rows = optimizer.localRows.count
            if x.rows != rows {
                throw NGError.shapeMismatch(
                    operation: .modelTrainStep, argument: "x (this process's rows of the batch)",
                    expected: Shape(rows, x.columns), actual: x.shape)
            }
            for i in trainableLayers.indices { trainableLayers[i].prepareStep(for: optimizer) }
            loss = try forwardBackward(x, targets)
            for i in trainableLayers.indices {
                let layer = trainableLayers[i]
                try LayerTimeAccount.measure(account, .layer(layer), .optimizer) { try layer.submit(to: &optimizer) }
            }
        } catch {
            // The batch normalization sums this process did not reach, made with nothing, so
            // that the other processes' are answered.
            crossProcessSums?.completeStep()
            failure = error
        }
        let batchLoss: Double
        do {
            batchLoss = try LayerTimeAccount.measure(account, .synchronize, .optimizer) {
                try optimizer.synchronize(loss: loss)
            }
        } catch {
            throw failure ?? error
        }
        if let failure { throw failure }
        for i in trainableLayers.indices {
            let layer = trainableLayers[i]
            try LayerTimeAccount.measure(account, .layer(layer), .optimizer) { try layer.step(with: &optimizer) }
        }
        return batchLoss
    }

    /// Forward, loss and backward through every layer, each keeping what its update reads.
    /// Returns the mean loss.
    func forwardBackward(_ x: Matrix<Scalar>, _ targets: TrainingTargets<Scalar>) throws(NGError) -> Double {
        let account = layerTimes
        var activation = x
        for layer in layers {
            activation = try LayerTimeAccount.measure(account, .layer(layer), .forward) { () throws(NGError) in
                try layer.forward(activation)
            }
        }
        let loss = try LayerTimeAccount.measure(account, .loss, .forward) { () throws(NGError) in
            switch targets {
            case let .labels(labels): try lossFunction.loss(logits: activation, labels: labels)
            case let .values(values): try squaredError.loss(predictions: activation, targets: values)
            }
        }
        activation = Matrix(rows: 0, columns: 0)
        var gradient = if case .labels = targets { lossFunction.gradient } else { squaredError.gradient }
        for layer in layers.reversed() {
            gradient = try LayerTimeAccount.measure(account, .layer(layer), .backward) { () throws(NGError) in
                try layer.backward(gradient)
            }
        }
        return loss
    }

    /// Rows `indices` of `images` into the model's batch buffer.
    func gather(_ images: Matrix<Scalar>, _ indices: ArraySlice<Int>) -> Matrix<Scalar> {
        let columns = images.columns
        ensureShape(&batchImages, indices.count, columns)
        images.withView { source in
            batchImages.withMutableView { target in
                for (row, index) in indices.enumerated() {
                    target.rows(row..<row + 1).update(from: source.rows(index..<index + 1))
                }
            }
        }
        return batchImages
    }
}
