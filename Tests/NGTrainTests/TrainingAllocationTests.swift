import NGAllocationCounter
import NGPlus
import NGTrain
import Testing

/// A training step of the reference models allocates nothing once warm: forward, loss,
/// backward and the optimizer's update reuse their buffers (one OpenBLAS thread, as
/// `scripts/test` runs). Unoptimized code boxes generic values on the heap, so these run in
/// the release build of the tests, which `scripts/test` makes for them.
@Suite(
    .enabled(if: isOptimizedBuild, "allocation counts are for optimized code"),
    .enabled(if: ng_allocation_counting_available() == 1, "a sanitizer owns malloc: the counter cannot interpose it"))
struct TrainingAllocationTests {
    /// The allocations of two steps after four warm-up steps (two inverse refreshes), on 16
    /// rows of 784 features, or of `inputs` when given.
    func allocationsOfWarmSteps(_ model: Model<Float>, inputs: Matrix<Float>? = nil) throws -> Int {
        try allocationsOfWarmSteps(
            model, inputs: inputs,
            optimizer: NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                inverseInterval: 2, side: .right, batchSize: 16, fusedApply: true)))
    }

    /// The same with `optimizer`.
    func allocationsOfWarmSteps<O: LayerOptimizer>(
        _ model: Model<Float>, inputs: Matrix<Float>? = nil, optimizer: O
    ) throws -> Int where O.Scalar == Float {
        let batch = 16
        var optimizer = optimizer
        try model.register(with: &optimizer)
        var generator = SeededGenerator(seed: 17)
        let x = inputs ?? Matrix<Float>.random(rows: batch, columns: 784, using: &generator)
        let labels = Array((0..<batch).map { $0 % 2 })[...]  // classes every model has
        for _ in 0..<4 { _ = try model.trainStep(x, labels: labels, optimizer: &optimizer) }
        let before = ng_thread_allocation_count()
        for _ in 0..<2 { _ = try model.trainStep(x, labels: labels, optimizer: &optimizer) }
        return ng_thread_allocation_count() - before
    }

    @Test func warmMLPStepsAllocateNothing() throws {
        #expect(try allocationsOfWarmSteps(.mlp(seed: 1)) == 0)
    }

    /// A validation between steps — 20 test rows, in batches of the training's 16, the last
    /// padded — leaves the layers' buffers as training shaped them: the next steps allocate
    /// nothing (a batch of 4 rows reallocated them, there and again in the timed step).
    @Test func aStepAfterAValidationAllocatesNothing() throws {
        let batch = 16
        let model = try Model<Float>.mlp(seed: 1)
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: 2, side: .right, batchSize: batch, fusedApply: true))
        try model.register(with: &optimizer)
        var generator = SeededGenerator(seed: 17)
        let x = Matrix<Float>.random(rows: batch, columns: 784, using: &generator)
        let labels = Array((0..<batch).map { $0 % 10 })[...]
        let test = try Dataset(
            images: .random(rows: 20, columns: 784, using: &generator), labels: (0..<20).map { $0 % 10 }, classes: 10,
            height: 28, width: 28)
        let trainer = try Trainer(batchSize: batch, seed: 1)
        for _ in 0..<4 { _ = try model.trainStep(x, labels: labels, optimizer: &optimizer) }
        _ = try trainer.accuracy(model, on: test)
        let before = ng_thread_allocation_count()
        for _ in 0..<2 { _ = try model.trainStep(x, labels: labels, optimizer: &optimizer) }
        #expect(ng_thread_allocation_count() - before == 0)
    }

    /// A Transformer's layers on token rows (16 rows: 4 sequences of 4 tokens): the fused QKV
    /// projection, causal attention with 2 heads, dense, LayerNorm, GELU, dense.
    @Test func warmTransformerLayerStepsAllocateNothing() throws {
        var generator = SeededGenerator(seed: 3)
        let model = Model<Float>(layers: [
            try Dense<Float>(inputs: 784, outputs: 48, computesInputGradient: false, using: &generator),
            try CausalAttention<Float>(sequenceLength: 4, heads: 2, width: 16),
            try Dense<Float>(inputs: 16, outputs: 64, using: &generator),
            try LayerNorm<Float>(width: 64), GELU<Float>(), try Dense<Float>(inputs: 64, outputs: 10, using: &generator),
        ])
        #expect(try allocationsOfWarmSteps(model) == 0)
    }

    /// The whole language model (1 block, width 16, 2 heads) on 4 sequences of 4 token ids: the
    /// token embedding's sparse step, positions, residual blocks, the output layer.
    @Test func warmLanguageModelStepsAllocateNothing() throws {
        let ids = Matrix<Float>(rows: 16, columns: 1) { r, _ in Float((r * 7) % 5) }
        let model = try Model<Float>.transformer(sequenceLength: 4, width: 16, heads: 2, blocks: 1, seed: 1)
        #expect(try allocationsOfWarmSteps(model, inputs: ids) == 0)
    }

    /// Recording where the time goes (`Model.recordLayerTimes`) adds no allocation.
    @Test func warmLanguageModelStepsWithALayerTimeAccountAllocateNothing() throws {
        let ids = Matrix<Float>(rows: 16, columns: 1) { r, _ in Float((r * 7) % 5) }
        let model = try Model<Float>.transformer(sequenceLength: 4, width: 16, heads: 2, blocks: 1, seed: 1)
        let account = model.recordLayerTimes()
        #expect(try allocationsOfWarmSteps(model, inputs: ids) == 0)
        #expect(account.steps == 6)
    }

    /// Batch normalization after a dense layer and after a convolution (8 channels of 28 × 28).
    @Test func warmBatchNormStepsAllocateNothing() throws {
        var generator = SeededGenerator(seed: 5)
        let geometry = try ConvGeometry(inChannels: 1, height: 28, width: 28, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let model = Model<Float>(layers: [
            try Conv2d<Float>(geometry: geometry, outChannels: 8, computesInputGradient: false, using: &generator),
            try BatchNorm<Float>(channels: 8, positions: 28 * 28), ReLU<Float>(),
            try Dense<Float>(inputs: 8 * 28 * 28, outputs: 32, using: &generator), try BatchNorm<Float>(channels: 32),
            ReLU<Float>(), try Dense<Float>(inputs: 32, outputs: 10, using: &generator),
        ])
        #expect(try allocationsOfWarmSteps(model) == 0)
    }

    /// ResNet-20 on 28 × 28 images: strided convolutions, batch normalization, residual blocks
    /// with projection shortcuts, global average pooling — the layers, stepped by Adam. (Under
    /// NG+ a warm step allocates inside OpenBLAS 0.3.21: its small-matrix kernel for Cooperlake,
    /// `sgemm_small_kernel_nn`, mallocs a buffer for some shapes — seen in gdb: 580 bytes, seven
    /// times a step, from the inverses `DampedInverse.applyUnchecked` applies to the 16-channel
    /// convolutions' gradients.)
    /// A DLRM (3 tables, bags of 2) under NG+ and Adam: the bottom MLP, the bags' sparse
    /// steps, the pairwise interaction, the top MLP.
    @Test func warmDLRMStepsAllocateNothing() throws {
        let x = Matrix<Float>(rows: 16, columns: 11) { r, c in c < 5 ? Float((r + c) % 5) / 5 : Float((r * 3 + c) % 50) }
        func model() throws -> Model<Float> { try .dlrm(denseFeatures: 5, vocabularies: [50, 70, 90], bag: 2, width: 8, seed: 1) }
        #expect(try allocationsOfWarmSteps(model(), inputs: x) == 0)
        #expect(try allocationsOfWarmSteps(model(), inputs: x, optimizer: AdamOptimizer<Float>(settings: AdamSettings())) == 0)
    }

    /// SchNet (2 blocks, molecules of 4 atoms) under NG+ and Adam: the embedding's sparse step,
    /// the pair basis, the filter networks on pair rows, the convolution, the pooling and the
    /// squared error.
    @Test func warmSchNetStepsAllocateNothing() throws {
        let x = Matrix<Float>(rows: 16, columns: 4) { r, c in c == 0 ? Float(r % 2) : Float((r * 5 + c * 3) % 7) / 4 }
        let targets = Matrix<Float>(rows: 4, columns: 1) { r, _ in Float(r) / 4 - 0.3 }
        func allocations<O: LayerOptimizer>(_ optimizer: O) throws -> Int where O.Scalar == Float {
            let model = try Model<Float>.schnet(atoms: 4, width: 8, blocks: 2, centers: 6, seed: 1)
            var optimizer = optimizer
            try model.register(with: &optimizer)
            for _ in 0..<4 { _ = try model.trainStep(x, targets: targets, optimizer: &optimizer) }
            let before = ng_thread_allocation_count()
            for _ in 0..<2 { _ = try model.trainStep(x, targets: targets, optimizer: &optimizer) }
            return ng_thread_allocation_count() - before
        }
        #expect(try allocations(NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, side: .right, batchSize: 16))) == 0)
        #expect(try allocations(AdamOptimizer<Float>(settings: AdamSettings())) == 0)
    }

    @Test func warmResNetStepsAllocateNothing() throws {
        let adam = try AdamOptimizer<Float>(settings: AdamSettings())
        #expect(try allocationsOfWarmSteps(try .resnet(seed: 1), optimizer: adam) == 0)
    }

    @Test func warmCNNStepsAllocateNothing() throws {
        #expect(try allocationsOfWarmSteps(try .cnn(seed: 1)) == 0)
    }
}

/// Whether this is an optimized (release) build of the tests.
let isOptimizedBuild: Bool = {
    #if DEBUG
    false
    #else
    true
    #endif
}()
