import Foundation
import NGPlus
import NGTestSupport
import Testing

@Suite struct BaselineTests {
    @Test(arguments: [(false, WeightDecayMode.l2, nil as Double?), (true, .decoupled, nil), (true, .l2, 0.01)])
    func sgdMatchesThePlainLoopReference(nesterov: Bool, mode: WeightDecayMode, clip: Double?) throws {
        let settings = SGDSettings(
            learningRate: .step(initial: 0.1, factor: 0.5, every: 2), momentum: 0.9, nesterov: nesterov,
            weightDecay: 0.05, weightDecayMode: mode, maxUpdateNorm: clip)
        var sgd = try SGDOptimizer<Double>(settings: settings)
        let layer = try sgd.register(.dense(outputs: 2, inputs: 3, bias: true))
        var generator = SeededGenerator(seed: 101)
        var weight = Matrix<Double>.random(rows: 2, columns: 4, using: &generator)
        var w = Reference(weight)
        var velocity: Reference?
        for t in 0..<5 {
            let g = Matrix<Double>.random(rows: 2, columns: 4, using: &generator)
            try sgd.step(layer, weight: &weight, gradient: g)
            let lr = 0.1 * pow(0.5, Double(t / 2))
            var d = Reference(g)
            if mode == .l2 { for r in 0..<2 { for c in 0..<3 { d[r, c] += 0.05 * w[r, c] } } }
            velocity = velocity.map { 0.9 * $0 + d } ?? d
            var step = nesterov ? d + 0.9 * velocity! : velocity!
            if let clip, lr * step.norm > clip { step = (clip / (lr * step.norm)) * step }
            if mode == .decoupled { for r in 0..<2 { for c in 0..<3 { w[r, c] *= 1 - lr * 0.05 } } }
            w = w - lr * step
            #expect(relativeError(Reference(weight), w) < 1e-14, "step \(t)")
        }
    }

    /// 5 × 7 = 35 values: two sixteen-lane chunks and a scalar tail of three.
    @Test(arguments: [WeightDecayMode.l2, .decoupled])
    func adamMatchesThePlainLoopReference(mode: WeightDecayMode) throws {
        let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 0.1)
        let (rows, inputs) = (5, 6)
        let columns = inputs + 1
        var adam = try AdamOptimizer<Double>(settings: AdamSettings(
            learningRate: .constant(lr), weightDecay: wd, weightDecayMode: mode))
        let layer = try adam.register(.dense(outputs: rows, inputs: inputs, bias: true))
        var generator = SeededGenerator(seed: 102)
        var weight = Matrix<Double>.random(rows: rows, columns: columns, using: &generator)
        var w = Reference(weight)
        var m = Reference(rows: rows, columns: columns)
        var v = m
        for t in 1...6 {
            let g = Matrix<Double>.random(rows: rows, columns: columns, using: &generator)
            try adam.step(layer, weight: &weight, gradient: g)
            var d = Reference(g)
            if mode == .l2 { for r in 0..<rows { for c in 0..<inputs { d[r, c] += wd * w[r, c] } } }
            if mode == .decoupled { for r in 0..<rows { for c in 0..<inputs { w[r, c] *= 1 - lr * wd } } }
            for e in 0..<(rows * columns) {
                m.values[e] = b1 * m.values[e] + (1 - b1) * d.values[e]
                v.values[e] = b2 * v.values[e] + (1 - b2) * d.values[e] * d.values[e]
                let mHat = m.values[e] / (1 - pow(b1, Double(t)))
                let vHat = v.values[e] / (1 - pow(b2, Double(t)))
                w.values[e] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            #expect(relativeError(Reference(weight), w) < 1e-13, "step \(t)")
        }
    }

    /// Dense layers with a bias, k = 2. With α = 0.5 and statistics every step (explicit
    /// factors): 2 → 2 at batch 3 applies G⁻¹·∇W̃·A⁻¹ in the formed order, 6 → 5 at batch 2 and
    /// 9 → 1 at batch 1 in the low-rank order, (dY·G⁻¹)ᵀ·([X | 1]·A⁻¹). With α = 1 and
    /// statistics at refresh steps (`lowRank`) the input factor is Woodbury's on its rows: 6 → 5
    /// and 9 → 1 again, and 20 → 1 at batch 4 in the formed order. The reference forms ∇W̃
    /// and inverts both factors every time. Without the trust region, and with a κ that scales
    /// some steps and not others, stepping from the batch and from ∇W̃ formed by the caller.
    @Test(arguments: [
        (2, 2, 3, nil as Double?, false, false), (5, 6, 2, nil, false, false), (1, 9, 1, nil, false, false),
        (2, 2, 3, 0.02, false, false), (5, 6, 2, 0.02, false, false), (1, 9, 1, 0.02, false, false),
        (5, 6, 2, 0.02, true, false),
        (5, 6, 2, nil, false, true), (1, 9, 1, nil, false, true), (1, 20, 4, nil, false, true),
        (5, 6, 2, 0.02, false, true), (5, 6, 2, 0.02, true, true), (1, 20, 4, 0.02, false, true),
    ])
    func kfacMatchesAHandComputedReference(
        outputs: Int, inputs: Int, batch: Int, klClip: Double?, formed: Bool, lowRank: Bool
    ) throws {
        let lambda = 1e-2
        let alpha = lowRank ? 1.0 : 0.5
        let configuration = KFACConfiguration(
            sgd: SGDSettings(learningRate: 0.1, momentum: 0.5, weightDecay: 0), damping: .constant(lambda),
            inverseInterval: 2, statisticsInterval: lowRank ? nil : 1, runningAverage: alpha, batchSize: batch,
            klClip: klClip)
        let spec = LayerSpec.dense(outputs: outputs, inputs: inputs, bias: true)
        #expect(try configuration.curvature(for: spec, NGError.Operation("test")) == .kroneckerFactors(
            batch: batch, maxRetries: 6, inputMethod: lowRank ? .woodbury : .explicitInverse))
        var kfac = try KFACOptimizer<Double>(configuration: configuration)
        let layer = try kfac.register(spec)
        var generator = SeededGenerator(seed: 103)
        var weight = Matrix<Double>.random(rows: outputs, columns: inputs + 1, using: &generator)
        var w = Reference(weight)
        var a: Reference?
        var g: Reference?
        var (aInverse, gInverse) = (Reference.identity(inputs + 1), Reference.identity(outputs))
        var velocity: Reference?
        var (clipped, unclipped) = (0, 0)
        for t in 0..<5 {
            let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
            let dy = Matrix<Double>.random(rows: batch, columns: outputs, using: &generator)
            var xt = Reference(rows: batch, columns: inputs + 1)
            for i in 0..<batch { for j in 0...inputs { xt[i, j] = j < inputs ? x[i, j] : 1 } }
            let rdy = Reference(dy)
            try kfac.observe(layer, inputs: x, outputGradients: dy)
            if formed {
                let gradient = rdy.transposed * xt
                try kfac.step(layer, weight: &weight, gradient: try Matrix(rows: outputs, columns: inputs + 1, elements: gradient.values))
            } else {
                try kfac.step(layer, weight: &weight, inputs: x, outputGradients: dy)
            }

            let aNew = (1 / Double(batch)) * (xt.transposed * xt)
            let gNew = Double(batch) * (rdy.transposed * rdy)
            if !lowRank || t % 2 == 0 {
                a = a.map { (1 - alpha) * $0 + alpha * aNew } ?? aNew
                g = g.map { (1 - alpha) * $0 + alpha * gNew } ?? gNew
            }
            if t % 2 == 0 {
                aInverse = (a! + lambda.squareRoot() * Reference.identity(inputs + 1)).inverse
                gInverse = (g! + lambda.squareRoot() * Reference.identity(outputs)).inverse
            }
            let gradient = rdy.transposed * xt
            var d = gInverse * gradient * aInverse
            if let klClip {
                // lr²·|⟨D, ∇W̃⟩| against κ.
                var product = 0.0
                for i in 0..<outputs { for j in 0...inputs { product += d[i, j] * gradient[i, j] } }
                let change = 0.1 * 0.1 * abs(product)
                if change > klClip { d = (klClip / change).squareRoot() * d; clipped += 1 } else { unclipped += 1 }
            }
            velocity = velocity.map { 0.5 * $0 + d } ?? d
            w = w - 0.1 * velocity!
            #expect(relativeError(Reference(weight), w) < 1e-12, "step \(t)")
        }
        if klClip != nil { #expect(clipped > 0 && unclipped > 0, "κ scaled \(clipped) of 5 steps") }
    }

    /// A factor of order above 1,024 (a `BlockDiagonalMatrix`'s default block size) is one block,
    /// as its inverse expects: 1,025 outputs from one input at batch 1. Then ∇W̃ = v·x̃ᵀ (v = dy,
    /// x̃ = [x, 1]) and both factors are rank one plus s·I (s = √λ), so
    /// `G⁻¹·∇W̃·A⁻¹ = v·x̃ᵀ/((s + ‖v‖²)·(s + ‖x̃‖²))` by Sherman–Morrison.
    @Test func kfacStepsAFactorLargerThanADefaultBlock() throws {
        let (outputs, lambda) = (1025, 1e-2)
        let s = lambda.squareRoot()
        var kfac = try KFACOptimizer<Double>(configuration: KFACConfiguration(
            sgd: SGDSettings(learningRate: 0.1, momentum: 0, weightDecay: 0), damping: .constant(lambda),
            inverseInterval: 1, batchSize: 1, klClip: nil))
        let layer = try kfac.register(.dense(outputs: outputs, inputs: 1, bias: true))
        var generator = SeededGenerator(seed: 104)
        var weight = Matrix<Double>.random(rows: outputs, columns: 2, using: &generator)
        let before = weight
        let x = Matrix<Double>.random(rows: 1, columns: 1, using: &generator)
        let dy = Matrix<Double>.random(rows: 1, columns: outputs, using: &generator)
        try kfac.observe(layer, inputs: x, outputGradients: dy)
        try kfac.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        let xt = [x[0, 0], 1.0]
        let vv = dy.elements.reduce(0) { $0 + $1 * $1 }
        let denominator = (s + vv) * (s + xt[0] * xt[0] + 1)
        for i in 0..<outputs {
            for j in 0..<2 {
                let want = before[i, j] - 0.1 * dy[0, i] * xt[j] / denominator
                #expect(abs(weight[i, j] - want) <= 1e-12 * Swift.max(1, abs(want)), "W̃[\(i), \(j)]")
            }
        }
    }

    @Test func kfacConvLayerRunsAndMatchesItsFactorsReference() throws {
        let geometry = try ConvGeometry(inChannels: 1, height: 4, width: 4, kernelHeight: 2, kernelWidth: 2)
        var builder = try KFACFactorBuilder<Double>(geometry: geometry, outChannels: 2, bias: true)
        var a = try BlockDiagonalMatrix<Double>(dimension: 5)
        var g = try BlockDiagonalMatrix<Double>(dimension: 2)
        var generator = SeededGenerator(seed: 104)
        let x = Matrix<Double>.random(rows: 2, columns: 16, using: &generator)
        let dy = Matrix<Double>.random(rows: 2, columns: 18, using: &generator)
        try builder.accumulate(inputs: x, outputGradients: dy, inputFactor: &a, outputFactor: &g)
        // A = 1/(B·P)·Σ_i Ũ_i·Ũ_iᵀ, G = (B/P)·Σ_i dY_i·dY_iᵀ, B = 2, P = 9.
        var expectedA = Reference(rows: 5, columns: 5)
        var expectedG = Reference(rows: 2, columns: 2)
        for i in 0..<2 {
            var u = Reference(rows: 5, columns: 9)
            for r in 0..<2 { for s in 0..<2 { for oy in 0..<3 { for ox in 0..<3 {
                u[r * 2 + s, oy * 3 + ox] = x[i, (oy + r) * 4 + ox + s]
            } } } }
            for p in 0..<9 { u[4, p] = 1 }
            var d = Reference(rows: 2, columns: 9)
            for o in 0..<2 { for p in 0..<9 { d[o, p] = dy[i, o * 9 + p] } }
            expectedA = expectedA + (1.0 / 18) * (u * u.transposed)
            expectedG = expectedG + (2.0 / 9) * (d * d.transposed)
        }
        #expect(relativeError(Reference(a.dense()), expectedA) < 1e-14)
        #expect(relativeError(Reference(g.dense()), expectedG) < 1e-14)
    }

    /// A convolution's factors against plain sums in Double, with α = 0.5 over a previous A and
    /// G. An A of order at least 128 (15 channels of 3 × 3 patches) sums its patches a stack
    /// of samples at a time (one SYRK into a triangle, mirrored at the end): 70 samples in a
    /// stack of 64 and one of 6. A G with enough work (32 filters, 100 positions, 64 samples)
    /// is summed by the samples of each of two threads apart, then added.
    @Test(arguments: [(15, 5, 4, 3, 70), (2, 12, 12, 32, 64)])
    func kfacConvFactorsMatchPlainSums(channels: Int, height: Int, width: Int, filters: Int, batch: Int) throws {
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        let geometry = try ConvGeometry(inChannels: channels, height: height, width: width, kernelHeight: 3, kernelWidth: 3)
        var builder = try KFACFactorBuilder<Double>(geometry: geometry, outChannels: filters, bias: true)
        let (order, columns, positions) = (channels * 9 + 1, width - 2, (height - 2) * (width - 2))
        #expect(builder.inputOrder == order && geometry.positions == positions)
        #expect(builder.stackedSamples == (order < 128 ? 1 : 64))
        var generator = SeededGenerator(seed: 106)
        let previousA = Matrix<Double>.random(rows: order, columns: order, using: &generator)
        let previousG = Matrix<Double>.random(rows: filters, columns: filters, using: &generator)
        // Symmetric previous factors, as the builder keeps them.
        let symmetricA = Matrix<Double>(rows: order, columns: order) { i, j in previousA[i, j] + previousA[j, i] }
        let symmetricG = Matrix<Double>(rows: filters, columns: filters) { i, j in previousG[i, j] + previousG[j, i] }
        var a = try BlockDiagonalMatrix(diagonalBlocksOf: symmetricA)
        var g = try BlockDiagonalMatrix(diagonalBlocksOf: symmetricG)
        let x = Matrix<Double>.random(rows: batch, columns: geometry.inputLength, using: &generator)
        let dy = Matrix<Double>.random(rows: batch, columns: filters * positions, using: &generator)
        try builder.accumulate(inputs: x, outputGradients: dy, newWeight: 0.5, inputFactor: &a, outputFactor: &g)
        // A = ½·A₀ + ½·1/(B·P)·Σ_i Ũ_i·Ũ_iᵀ, G = ½·G₀ + ½·(B/P)·Σ_i dY_i·dY_iᵀ; patch row
        // (c, r, s), position (oy, ox) reads x_i[c, oy + r, ox + s].
        var expectedA = 0.5 * Reference(symmetricA)
        var expectedG = 0.5 * Reference(symmetricG)
        for i in 0..<batch {
            var u = Reference(rows: order, columns: positions)
            for c in 0..<channels { for r in 0..<3 { for s in 0..<3 { for oy in 0..<height - 2 { for ox in 0..<columns {
                u[(c * 3 + r) * 3 + s, oy * columns + ox] = x[i, c * height * width + (oy + r) * width + ox + s]
            } } } } }
            for p in 0..<positions { u[order - 1, p] = 1 }
            var d = Reference(rows: filters, columns: positions)
            for o in 0..<filters { for p in 0..<positions { d[o, p] = dy[i, o * positions + p] } }
            expectedA = expectedA + (0.5 / Double(batch * positions)) * (u * u.transposed)
            expectedG = expectedG + (0.5 * Double(batch) / Double(positions)) * (d * d.transposed)
        }
        #expect(relativeError(Reference(a.dense()), expectedA) < 1e-13)
        #expect(relativeError(Reference(g.dense()), expectedG) < 1e-13)
        #expect(a.dense() == a.dense().transposed())
        #expect(g.dense() == g.dense().transposed())
    }

    /// Every optimizer: save, keep stepping, restore into a fresh one, step the same: equal
    /// bytes and weights; and a damaged state is refused with nothing changed.
    func roundTrip<O: LayerOptimizer>(_ make: () throws -> O) throws where O.Scalar == Float {
        var optimizer = try make()
        let spec = LayerSpec.dense(outputs: 3, inputs: 4, bias: true)
        let layer = try optimizer.register(spec)
        let vector = try optimizer.register(.vector(length: 5))
        var generator = SeededGenerator(seed: 105)
        var w = Matrix<Float>.random(rows: 3, columns: 5, using: &generator)
        var v = Matrix<Float>.random(rows: 1, columns: 5, using: &generator)
        func run(_ optimizer: inout O, _ generator: inout SeededGenerator, _ w: inout Matrix<Float>, _ v: inout Matrix<Float>) throws {
            for _ in 0..<3 {
                let x = Matrix<Float>.random(rows: 2, columns: 4, using: &generator)
                let dy = Matrix<Float>.random(rows: 2, columns: 3, using: &generator)
                try optimizer.observe(layer, inputs: x, outputGradients: dy)
                try optimizer.step(layer, weight: &w, inputs: x, outputGradients: dy)
                try optimizer.step(vector, weight: &v, gradient: Matrix.random(rows: 1, columns: 5, using: &generator))
            }
        }
        try run(&optimizer, &generator, &w, &v)
        let saved = optimizer.stateBytes()
        var (w1, v1, g1) = (w, v, generator)
        try run(&optimizer, &g1, &w1, &v1)

        var fresh = try make()
        _ = try fresh.register(spec)
        _ = try fresh.register(.vector(length: 5))
        let empty = fresh.stateBytes()
        var damaged = saved
        damaged[damaged.count - 20] ^= 1
        #expect(throws: NGError.self) { try fresh.restore(stateBytes: damaged) }
        #expect(throws: NGError.self) { try fresh.restore(stateBytes: Array(saved.dropLast(9))) }
        #expect(fresh.stateBytes() == empty)
        try fresh.restore(stateBytes: saved)
        var (w2, v2, g2) = (w, v, generator)
        try run(&fresh, &g2, &w2, &v2)
        #expect(w2 == w1 && v2 == v1)
        #expect(fresh.stateBytes() == optimizer.stateBytes())
    }

    @Test func everyOptimizerResumesBitIdenticallyAndRefusesDamagedStates() throws {
        try roundTrip { try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1, nesterov: true)) }
        try roundTrip { try AdamOptimizer<Float>(settings: AdamSettings()) }
        try roundTrip { try KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: 2, statisticsInterval: 1, runningAverage: 0.9, batchSize: 2)) }
        // The 4 → 3 layer's input factor low-rank (α = 1, statistics at refresh steps, 2·B < 5).
        try roundTrip { try KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 2)) }
        try roundTrip { try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 2)) }
    }

    /// Format 5 keeps a K-FAC input factor in the form its plan chose: an older K-FAC state is
    /// refused by its version, before anything is read, and nothing changes.
    @Test func aKFACStateOfAnOlderFormatIsRefused() throws {
        var kfac = try KFACOptimizer<Float>(configuration: KFACConfiguration(batchSize: 2))
        _ = try kfac.register(.dense(outputs: 2, inputs: 3, bias: true))
        let saved = kfac.stateBytes()
        var older = saved
        older[4] = 4  // the version, a little-endian u64 after "NGPS"
        do {
            try kfac.restore(stateBytes: older)
            Issue.record("an older K-FAC state was accepted")
        } catch let NGError.corruptState(_, reason) {
            #expect(reason == "format version 4, this library reads 5 to 5 for KFACOptimizer")
        }
        #expect(kfac.stateBytes() == saved)
    }

    @Test func baselinesRejectBadInputWithoutChangingState() throws {
        var adam = try AdamOptimizer<Float>(settings: AdamSettings())
        let layer = try adam.register(.dense(outputs: 2, inputs: 2, bias: false))
        let before = adam.stateBytes()
        var w = Matrix<Float>(rows: 2, columns: 2)
        var g = Matrix<Float>(rows: 2, columns: 2)
        g[0, 0] = .infinity
        #expect(throws: NGError.nonFinite(operation: "AdamOptimizer.step", argument: "gradient", row: 0, column: 0)) {
            try adam.step(layer, weight: &w, gradient: g)
        }
        #expect(throws: OptimizerError.unknownLayer(operation: "AdamOptimizer.step", layer: 3)) {
            try adam.step(LayerHandle(index: 3), weight: &w, gradient: Matrix(rows: 2, columns: 2))
        }
        #expect(adam.stateBytes() == before)
        var kfac = try KFACOptimizer<Float>()
        let k = try kfac.register(.dense(outputs: 2, inputs: 2, bias: false))
        #expect(throws: OptimizerError.missingStatistics(operation: "KFACOptimizer.step", layer: 0, step: 0)) {
            try kfac.step(k, weight: &w, gradient: Matrix(rows: 2, columns: 2))
        }
        #expect(throws: NGError.self) { try AdamOptimizer<Float>(settings: AdamSettings(beta1: 1)) }
        #expect(throws: NGError.self) { try KFACOptimizer<Float>(configuration: KFACConfiguration(damping: -1)) }
        for klClip in [0, -1, .nan, .infinity] {
            #expect(throws: NGError.self) { try KFACOptimizer<Float>(configuration: KFACConfiguration(klClip: klClip)) }
        }
    }

    /// A K-FAC configuration saved before the trust region existed (no `klClip` key) decodes to
    /// none, the behaviour that wrote it; a new one keeps kfac-pytorch's κ = 10⁻³.
    @Test func kfacConfigurationsSavedBeforeTheTrustRegionDecodeToNone() throws {
        #expect(KFACConfiguration().klClip == 1e-3)
        var saved = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(KFACConfiguration())) as! [String: Any]
        #expect(saved.removeValue(forKey: "klClip") != nil)
        let old = try JSONDecoder().decode(KFACConfiguration.self, from: try JSONSerialization.data(withJSONObject: saved))
        #expect(old == KFACConfiguration(klClip: nil))
        let clipped = KFACConfiguration(klClip: 0.5)
        #expect(try JSONDecoder().decode(KFACConfiguration.self, from: try JSONEncoder().encode(clipped)) == clipped)
    }

    @Test func schedulesGiveTheirDocumentedValues() throws {
        #expect(Schedule.step(initial: 0.35, factor: 0.75, every: 10).value(at: 25) == 0.35 * pow(0.75, 2))
        #expect(abs(Schedule.exponential(initial: 1, factor: 0.5, every: 2).value(at: 1) - 0.5.squareRoot()) < 1e-15)
        #expect(Schedule.cosine(initial: 1, final: 0, steps: 10).value(at: 5) == 0.5)
        #expect(Schedule.cosine(initial: 1, final: 0.1, steps: 10).value(at: 20) == 0.1)
        let warm = Schedule.warmup(steps: 4, start: 0, then: .constant(2))
        #expect(warm.value(at: 0) == 0 && warm.value(at: 2) == 1 && warm.value(at: 4) == 2)
        #expect(throws: NGError.self) { try Schedule.step(initial: 1, factor: 0.5, every: 0).validate("op", "lr") }
    }
}
