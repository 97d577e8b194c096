import NGPlus
import NGTrain
import Testing

/// `Model.recordLayerTimes`: a row per kind and shape of layer (a residual block's row holding
/// its own sum, its layers in rows of their own), the flop account's flops, time in every phase
/// a layer has, steps and rows counted, and nothing recorded outside a training step.
struct LayerTimeAccountTests {
    @Test func aLanguageModelsAccountHasARowPerLayerKindAndTheFlopAccountsFlops() throws {
        let (length, width, blocks) = (4, 16, 2)
        let model = try Model<Float>.transformer(sequenceLength: length, width: width, heads: 2, blocks: blocks, seed: 1)
        let account = model.recordLayerTimes()
        var optimizer = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: .constant(1e-3)))
        try model.register(with: &optimizer)
        let ids = Matrix<Float>(rows: 8, columns: 1) { r, _ in Float(r % 5) }
        let labels = Array((0..<8).map { ($0 * 3) % 256 })[...]
        for _ in 0..<3 { _ = try model.trainStep(ids, labels: labels, optimizer: &optimizer) }
        _ = try model.forward(ids)

        #expect(account.steps == 3)
        #expect(account.samples == 24)
        let names = account.rows.map(\.name)
        #expect(names == [
            "embedding 256×16", "positions 4×16", "Residual", "layer norm 16", "dense 16→48", "attention T=4, 2 heads of 8",
            "dense 16→16", "dense 16→64", "GELU", "dense 64→16", "dense 16→256", "loss", "synchronize",
        ])
        let row = { (name: String) in account.rows.first { $0.name == name }! }
        // Two LayerNorms a block and the final one; the blocks' layers share their rows.
        #expect(row("layer norm 16").layers == 2 * blocks + 1)
        #expect(row("dense 16→48").layers == blocks)
        #expect(row("GELU").layers == blocks)
        #expect(row("Residual").layers == 2 * blocks)
        // The rows' flops are the flop account's, summed over the layers of a row.
        let accounted = account.rows.reduce(0) { $0 + $1.forwardFlops + $1.backwardFlops }
        #expect(accounted == model.flopsPerSample)
        #expect(row("attention T=4, 2 heads of 8").forwardFlops == Double(blocks) * 4 * Double(length * width))
        // Every layer has forward and backward time; trainable ones optimizer time; the
        // elementwise ones none; one process synchronizes nothing it waits on.
        for row in account.rows.dropLast(2) {
            #expect(row.forwardSeconds > 0, "\(row.name)")
        }
        #expect(row("GELU").backwardSeconds > 0)
        #expect(row("GELU").optimizerSeconds == 0)
        #expect(row("dense 16→48").optimizerSeconds > 0)
        #expect(row("loss").forwardSeconds > 0)
        // A residual block's row holds its sum and its gradient's, not its layers' time: the
        // rows never count a second twice (their total within the steps').
        #expect(row("Residual").backwardSeconds > 0)
        let parts = account.rows.reduce(0) { $0 + $1.forwardSeconds + $1.backwardSeconds + $1.optimizerSeconds }
        #expect(parts <= account.stepSeconds)
    }

    /// SchNet's filter network runs on a row for each atom pair, atoms − 1 rows for each atom
    /// (a sample of the model): its layers' flops are counted so, in rows of their own, and the
    /// model's total is the count by hand.
    @Test func schNetsFilterLayersAreCountedOnTheirPairRows() throws {
        let (atoms, width, blocks, centers) = (5, 8, 2, 3)
        let model = try Model<Float>.schnet(atoms: atoms, width: width, blocks: blocks, centers: centers, seed: 1)
        let account = model.recordLayerTimes()
        let (n, w, c, pairs) = (Double(width), Double(width), Double(centers), Double(atoms - 1))
        // y = x·Wᵀ (2mn), ∇W̃ (2m(n + 1)), dX (2mn) when computed.
        func dense(_ n: Double, _ m: Double, inputGradient: Bool = true) -> Double {
            2 * m * n + 2 * m * (n + 1) + (inputGradient ? 2 * m * n : 0)
        }
        let filters = pairs * (dense(c, w, inputGradient: false) + dense(w, w))
        let atomWise = 3 * dense(w, w)
        let head = dense(n, n / 2) + dense(n / 2, 1)
        #expect(model.flopsPerSample == Double(blocks) * (filters + atomWise) + head)
        let row = { (name: String) in account.rows.first { $0.name == name } }
        #expect(row("dense 3→8, 4 rows a sample")?.layers == blocks)
        #expect(row("dense 8→8, 4 rows a sample")?.layers == blocks)
        #expect(row("dense 8→8")?.layers == 3 * blocks)
        var generator = SeededGenerator(seed: 2)
        #expect(throws: NGError.self) { try Dense<Float>(inputs: 2, outputs: 2, rowsPerSample: 0, using: &generator) }
    }

    @Test func aModelWithoutAnAccountRecordsNothingAndANewAccountStartsEmpty() throws {
        let model = try Model<Float>.mlp(seed: 1)
        var optimizer = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: .constant(0.1)))
        try model.register(with: &optimizer)
        var generator = SeededGenerator(seed: 5)
        let x = Matrix<Float>.random(rows: 4, columns: 784, using: &generator)
        _ = try model.trainStep(x, labels: [1, 2, 3, 4][...], optimizer: &optimizer)
        #expect(model.layerTimes == nil)
        let first = model.recordLayerTimes()
        _ = try model.trainStep(x, labels: [1, 2, 3, 4][...], optimizer: &optimizer)
        let second = model.recordLayerTimes()
        _ = try model.trainStep(x, labels: [1, 2, 3, 4][...], optimizer: &optimizer)
        #expect(first.steps == 1)
        #expect(second.steps == 1)
        #expect(second.rows.map(\.name) == ["dense 784→256", "ReLU", "dense 256→256", "dense 256→10",
                                            "loss", "synchronize"])
        #expect(second.rows[1].layers == 2)
    }

    /// `countOptimizerFlops` puts each layer's optimizer flops in its row; none without an account.
    @Test func anOptimizersOwnFlopsGoToItsLayersRows() throws {
        let model = try Model<Float>.mlp(seed: 1)
        var optimizer = try KFACOptimizer<Float>(configuration: KFACConfiguration(batchSize: 16))
        try model.register(with: &optimizer)
        try model.countOptimizerFlops(of: optimizer)
        let account = model.recordLayerTimes()
        try model.countOptimizerFlops(of: optimizer)
        for layer in model.trainableLayers {
            let row = account.rows.first { $0.name == layer.flops.name }!
            #expect(row.optimizerFlops == (try optimizer.extraFlopsPerStep(of: layer.handle)) && row.optimizerFlops > 0)
        }
        #expect(account.rows.first { $0.name == "ReLU" }!.optimizerFlops == 0)
    }
}
