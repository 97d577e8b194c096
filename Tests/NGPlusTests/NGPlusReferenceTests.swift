import NGPlus
import NGTestSupport
import Testing

/// A plain-loop Double reference of paper-faithful NG+ for one dense layer with a bias
/// (docs/ALGORITHM.md §2a, §3, §5): explicit per-sample gradients, explicit inverse, PyTorch SGD.
struct DenseNGPlusReference {
    let outputs: Int
    let inputs: Int
    let side: Side
    let k: Int
    let statisticsInterval: Int
    let alpha: Double
    let lambda: Double
    let lr: Double
    let mu: Double
    let weightDecay: Double
    var weight: Reference
    var gfim: Reference? = nil
    var inverse: Reference? = nil
    var velocity: Reference? = nil
    var t = 0

    mutating func step(inputs x: Reference, outputGradients dy: Reference) {
        let batch = x.rows
        let width = inputs + 1
        var xt = Reference(rows: batch, columns: width)
        for i in 0..<batch { for j in 0..<width { xt[i, j] = j < inputs ? x[i, j] : 1 } }
        if t % statisticsInterval == 0 {
            let order = side == .left ? outputs : width
            var fresh = Reference(rows: order, columns: order)
            for i in 0..<batch {
                var dw = Reference(rows: outputs, columns: width)
                for o in 0..<outputs { for j in 0..<width { dw[o, j] = Double(batch) * dy[i, o] * xt[i, j] } }
                let term = side == .left ? dw * dw.transposed : dw.transposed * dw
                fresh = fresh + (1 / Double(batch)) * term
            }
            gfim = gfim.map { (1 - alpha) * $0 + alpha * fresh } ?? fresh
        }
        if t % k == 0 {
            let order = gfim!.rows
            inverse = (gfim! + lambda.squareRoot() * Reference.identity(order)).inverse
        }
        let gradient = dy.transposed * xt
        var d = side == .left ? inverse! * gradient : gradient * inverse!
        for o in 0..<outputs { for j in 0..<inputs { d[o, j] += weightDecay * weight[o, j] } }
        velocity = velocity.map { mu * $0 + d } ?? d
        weight = weight - lr * velocity!
        t += 1
    }
}

@Suite struct NGPlusReferenceTests {
    @Test(arguments: [(Side.left, 3, 3, 1.0), (.left, 4, 2, 0.5), (.right, 3, 1, 0.7), (.right, 2, 2, 1.0)])
    func paperFaithfulDenseLayerMatchesThePlainLoopReference(side: Side, k: Int, statistics: Int, alpha: Double) throws {
        let (outputs, inputs, batch) = (3, 5, 4)
        var generator = SeededGenerator(seed: 71)
        let configuration = NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01),
            damping: 1e-2, inverseInterval: k, statisticsInterval: statistics, runningAverage: alpha,
            side: side == .left ? .left : .right, batchSize: batch)
        var optimizer = try NGPlusOptimizer<Double>(configuration: configuration)
        let layer = try optimizer.register(.dense(outputs: outputs, inputs: inputs, bias: true))
        var weight = Matrix<Double>.random(rows: outputs, columns: inputs + 1, using: &generator)
        var reference = DenseNGPlusReference(
            outputs: outputs, inputs: inputs, side: side, k: k, statisticsInterval: statistics, alpha: alpha,
            lambda: 1e-2, lr: 0.1, mu: 0.9, weightDecay: 0.01, weight: Reference(weight))
        for t in 0..<9 {
            let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
            let dy = Matrix<Double>.random(rows: batch, columns: outputs, scale: 0.5, using: &generator)
            var gradient = Matrix<Double>(rows: outputs, columns: inputs + 1)
            try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            try optimizer.step(layer, weight: &weight, gradient: gradient)
            reference.step(inputs: Reference(x), outputGradients: Reference(dy))
            let error = relativeError(Reference(weight), reference.weight)
            #expect(error < 1e-11, "step \(t): \(error)")
        }
        #expect(try optimizer.stepCount(of: layer) == 9)
    }

    /// M ← μ·M + (G + wd·W) from M₀ = 0 or, as the authors' optimizer does, M₀ = G₁ (so the
    /// first buffer is (1 + μ)·G₁ + wd·W₀); every step F ← β·F + (1−β)·M·Mᵀ from F₀ = ε·I;
    /// every 2 steps F̂ = F + √(min(λ, max(max|F|, 1e-3)))·I; W ← W − lr·F̂⁻¹·M.
    @Test(arguments: MatrixMomentumStart.allCases)
    func matrixFormMatchesTheReferenceOptimizer(start: MatrixMomentumStart) throws {
        let (rows, columns) = (3, 4)
        let (lr, mu, wd, beta, epsilon, lambda) = (0.05, 0.9, 0.01, 0.99, 1e-8, 1e-2)
        var generator = SeededGenerator(seed: 72)
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: .constant(lr), momentum: mu, weightDecay: wd),
            damping: .constant(lambda), inverseInterval: 2, matrixMomentumStart: start, side: .left))
        let layer = try optimizer.register(.matrix(rows: rows, columns: columns))
        var weight = Matrix<Double>.random(rows: rows, columns: columns, using: &generator)
        var w = Reference(weight)
        var m = Reference(rows: rows, columns: columns)
        var f = epsilon * Reference.identity(rows)
        var inverse = Reference.identity(rows)
        for t in 0..<7 {
            let g = Matrix<Double>.random(rows: rows, columns: columns, using: &generator)
            try optimizer.step(layer, weight: &weight, gradient: g)
            if t == 0 && start == .firstGradient { m = Reference(g) }
            m = mu * m + Reference(g) + wd * w
            f = beta * f + (1 - beta) * (m * m.transposed)
            if t % 2 == 0 {
                let largest = f.values.map(abs).max()!
                let shift = min(lambda, max(largest, 1e-3)).squareRoot()
                inverse = (f + shift * Reference.identity(rows)).inverse
            }
            w = w - lr * (inverse * m)
            #expect(relativeError(Reference(weight), w) < 1e-12, "step \(t)")
        }
    }

    /// The preset is the authors' algorithm: the left side where the default takes the right
    /// (an 8→32 dense layer, a 32×20 matrix), the explicit inverse, their momentum start.
    @Test func authorsPresetIsTheirAlgorithm() throws {
        var authors = try NGPlusOptimizer<Float>(configuration: .authors)
        var automatic = try NGPlusOptimizer<Float>()
        for spec in [LayerSpec.dense(outputs: 32, inputs: 8, bias: true), .matrix(rows: 32, columns: 20)] {
            let (theirLayer, ourLayer) = (try authors.register(spec), try automatic.register(spec))
            let (theirs, ours) = (try authors.plan(for: theirLayer), try automatic.plan(for: ourLayer))
            #expect(theirs?.side == .left && theirs?.method == .explicitInverse)
            #expect(ours?.side == .right)
        }
        #expect(authors.configuration.matrixMomentumStart == .firstGradient)
        #expect(automatic.configuration.matrixMomentumStart == .zero)
    }

    /// Block size 5 splits the right GFIM (order 10) so that the bias shares its block; batch
    /// 12 exceeds G̃'s other dimension on both sides (10 columns, 6 rows), where the fused step
    /// forms G̃ and applies the inverse to it.
    @Test(arguments: [Side.left, .right], [(blockSize: 1024, batch: 5), (5, 5), (1024, 12), (5, 12)])
    func fusedStepEqualsTheGradientStepToRounding(side: Side, blocking: (blockSize: Int, batch: Int)) throws {
        let (outputs, inputs, batch, blockSize) = (6, 9, blocking.batch, blocking.blockSize)
        var generator = SeededGenerator(seed: 73)
        let configuration = NGPlusConfiguration(
            inverseInterval: 2, side: side == .left ? .left : .right, blockSize: blockSize, batchSize: batch)
        var fused = try NGPlusOptimizer<Double>(configuration: configuration)
        var unfused = try NGPlusOptimizer<Double>(configuration: configuration)
        let spec = LayerSpec.dense(outputs: outputs, inputs: inputs, bias: true)
        let a = try fused.register(spec)
        let b = try unfused.register(spec)
        var w1 = Matrix<Double>.random(rows: outputs, columns: inputs + 1, using: &generator)
        var w2 = w1
        for t in 0..<5 {
            let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
            let dy = Matrix<Double>.random(rows: batch, columns: outputs, using: &generator)
            var gradient = Matrix<Double>(rows: outputs, columns: inputs + 1)
            try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
            try fused.observe(a, inputs: x, outputGradients: dy)
            try unfused.observe(b, inputs: x, outputGradients: dy)
            try fused.step(a, weight: &w1, inputs: x, outputGradients: dy)
            try unfused.step(b, weight: &w2, gradient: gradient)
            #expect(relativeError(Reference(w1), Reference(w2)) < 1e-13, "step \(t)")
        }
    }

    /// Both sides, fused and unfused, with and without a bias: 12 outputs and 7 inputs give
    /// GFIMs of order 12 (left) and 7 or 8 (right) from rank-3 statistics; a batch of 13
    /// (rank above the order) exceeds G̃'s other dimension on both sides, where the fused step
    /// forms G̃ first.
    @Test(arguments: [Side.left, .right], [(bias: false, batch: 3), (true, 3), (false, 13), (true, 13)])
    func woodburyPlanMatchesTheExplicitInverse(side: Side, shape: (bias: Bool, batch: Int)) throws {
        let (outputs, inputs, batch, bias) = (12, 7, shape.batch, shape.bias)
        var generator = SeededGenerator(seed: 74)
        func optimizer(_ method: CurvatureMethod) throws -> NGPlusOptimizer<Double> {
            try NGPlusOptimizer(configuration: NGPlusConfiguration(
                inverseInterval: 2, side: side == .left ? .left : .right, method: method, batchSize: batch))
        }
        var woodbury = try optimizer(.woodbury)
        var explicit = try optimizer(.explicitInverse)
        let spec = LayerSpec.dense(outputs: outputs, inputs: inputs, bias: bias)
        let a = try woodbury.register(spec)
        let b = try explicit.register(spec)
        #expect(try woodbury.plan(for: a)?.method == .woodbury)
        #expect(try woodbury.plan(for: a)?.side == side)
        let columns = inputs + (bias ? 1 : 0)
        var w1 = Matrix<Double>.random(rows: outputs, columns: columns, using: &generator)
        var w2 = w1
        for t in 0..<6 {
            let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
            let dy = Matrix<Double>.random(rows: batch, columns: outputs, using: &generator)
            try woodbury.observe(a, inputs: x, outputGradients: dy)
            try explicit.observe(b, inputs: x, outputGradients: dy)
            if t < 3 {
                try woodbury.step(a, weight: &w1, inputs: x, outputGradients: dy)
                try explicit.step(b, weight: &w2, inputs: x, outputGradients: dy)
            } else {
                var g = Matrix<Double>(rows: outputs, columns: columns)
                try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: bias, into: &g)
                try woodbury.step(a, weight: &w1, gradient: g)
                try explicit.step(b, weight: &w2, gradient: g)
            }
            #expect(relativeError(Reference(w1), Reference(w2)) < 1e-10, "step \(t)")
        }
    }
}
