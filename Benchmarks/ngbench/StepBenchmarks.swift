import NGPlus

/// One dense layer's training step, timed for SGD and NG+ on the same data: forward
/// `Y = X·Wᵀ + b` (GEMM), backward `dX = dY·W` and `G̃ = dYᵀ·[X | 1]` (two GEMMs, the second
/// replaced by the fused apply in NG+'s fused form), then the optimizer's update. NG+ steps
/// are timed over whole cycles of k steps, so the refresh is amortized as in training.
struct StepFigure {
    let layer: String
    let m: Int
    let n: Int
    let batch: Int
    let k: Int
    let form: String
    let sgdMilliseconds: Double
    let ngplusMilliseconds: Double
    /// The flop bound of ALGORITHM.md §6 for this form.
    let bound: Double

    var ratio: Double { ngplusMilliseconds / sgdMilliseconds }
}

struct StepBenchmark {
    let layer: String
    let m: Int
    let n: Int
    let batch: Int
    let plan: RunPlan

    /// Median milliseconds per step of `cycles` cycles of k steps each.
    func measure(k: Int, fused: Bool) throws -> StepFigure {
        var generator = SeededGenerator(seed: 5)
        let x = Matrix<Float>.random(rows: batch, columns: n, using: &generator)
        let dy = Matrix<Float>.random(rows: batch, columns: m, scale: 1e-2, using: &generator)
        let start = Matrix<Float>.random(rows: m, columns: n + 1, scale: 0.05, using: &generator)
        var y = Matrix<Float>(rows: batch, columns: m)
        var dx = Matrix<Float>(rows: batch, columns: n)
        var gradient = Matrix<Float>(rows: m, columns: n + 1)
        let spec = LayerSpec.dense(outputs: m, inputs: n, bias: true)

        // Forward and the input gradient: the same in every optimizer. W̃'s first n columns are
        // W; the bias add is a rank-one update folded into the GEMM's cost here.
        var weightOnly = Matrix<Float>(rows: m, columns: n)
        func forwardAndInputGradient(_ w: Matrix<Float>) throws {
            w.withUnsafeBufferPointer { pw in
                weightOnly.withUnsafeMutableBufferPointer { po in
                    for r in 0..<m { (po.baseAddress! + r * n).update(from: pw.baseAddress! + r * (n + 1), count: n) }
                }
            }
            try BLAS.gemm(x, weightOnly, transposeB: true, into: &y)
            try BLAS.gemm(dy, weightOnly, into: &dx)
        }

        var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 1e-3, momentum: 0.9))
        let sgdLayer = try sgd.register(spec)
        var w = start
        let sgdStats = try TimingStats.measure(warmup: plan.warmup, repetitions: plan.repetitions) {
            for _ in 0..<k {
                try forwardAndInputGradient(w)
                try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
                try sgd.step(sgdLayer, weight: &w, gradient: gradient)
            }
        }

        var ngplus = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 1e-3, momentum: 0.9, weightDecay: 1e-4),
            inverseInterval: k, side: .left, method: .explicitInverse, batchSize: batch, fusedApply: fused))
        let ngLayer = try ngplus.register(spec)
        w = start
        let ngStats = try TimingStats.measure(warmup: plan.warmup, repetitions: plan.repetitions) {
            for _ in 0..<k {
                try forwardAndInputGradient(w)
                try ngplus.observe(ngLayer, inputs: x, outputGradients: dy)
                if fused {
                    try ngplus.step(ngLayer, weight: &w, inputs: x, outputGradients: dy)
                } else {
                    try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
                    try ngplus.step(ngLayer, weight: &w, gradient: gradient)
                }
            }
        }
        return StepFigure(
            layer: layer, m: m, n: n, batch: batch, k: k, form: fused ? "fused" : "gradient",
            sgdMilliseconds: sgdStats.median / Double(k), ngplusMilliseconds: ngStats.median / Double(k),
            bound: bound(k: k, fused: fused))
    }

    /// ALGORITHM.md §6: `1 + extra/(6mnB) + (2m²B + m³)/(6mnBk)`, extra = 2m²ñ (gradient) or
    /// 2m²B (fused).
    func bound(k: Int, fused: Bool) -> Double {
        let (dm, dn, db) = (Double(m), Double(n + 1), Double(batch))
        let sgd = 6 * dm * dn * db
        let apply = fused ? 2 * dm * dm * db : 2 * dm * dm * dn
        return 1 + apply / sgd + (2 * dm * dm * db + dm * dm * dm) / (sgd * Double(k))
    }
}
