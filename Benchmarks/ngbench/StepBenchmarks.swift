import NGPlus

/// A layer shape a user recognises, as a dense layer `outputs × inputs` (a convolution as its
/// GEMM shape: c_out × c_in·kh·kw).
struct LayerShape {
    let name: String
    let outputs: Int
    let inputs: Int

    /// The default suite (issue: MLP, ResNet-50 bottleneck, Transformer-base, DLRM).
    static let suite = [
        LayerShape(name: "mlp.fc1 784→256", outputs: 256, inputs: 784),
        LayerShape(name: "mlp.fc2 256→256", outputs: 256, inputs: 256),
        LayerShape(name: "mlp.fc3 256→10", outputs: 10, inputs: 256),
        LayerShape(name: "resnet50.conv1x1 256→64", outputs: 64, inputs: 256),
        LayerShape(name: "resnet50.conv3x3 64·3·3→64", outputs: 64, inputs: 576),
        LayerShape(name: "transformer.ffn1 512→2048", outputs: 2048, inputs: 512),
        LayerShape(name: "transformer.ffn2 2048→512", outputs: 512, inputs: 2048),
        LayerShape(name: "dlrm.mlp 1024→1024", outputs: 1024, inputs: 1024),
    ]
}

/// One row of the step table: per-step milliseconds of each optimizer on one layer.
struct StepFigure: Codable {
    let layer: String
    let m: Int
    let n: Int
    let batch: Int
    let k: Int
    /// `gradient` (the user passes G̃) or `fused` (NG+ never forms G̃).
    let form: String
    /// NG+'s automatic plan for this shape, batch, k and form.
    let plan: String
    let sgdMs: Double
    let ngplusMs: Double
    let ratio: Double
    /// The flop bound of NG+/SGD for the plan (ALGORITHM.md §6).
    let bound: Double
    let kfacMs: Double
    let adamMs: Double
}

/// Times one dense layer's training step for SGD, Adam, K-FAC and NG+ on the same data:
/// forward `Y = X·Wᵀ` and input gradient `dX = dY·W` (GEMMs every optimizer pays), then the
/// optimizer's own work from X and dY. Steps that refresh (statistics + inverse) and steps
/// that only apply are timed apart, and a step at interval k costs
/// `(refresh + (k − 1)·apply)/k`, exactly the mix of a training run.
struct StepBenchmark {
    let shape: LayerShape
    let batch: Int
    let plan: RunPlan

    func run(intervals: [Int]) throws -> [StepFigure] {
        let (m, n) = (shape.outputs, shape.inputs)
        var generator = SeededGenerator(seed: 5)
        let x = Matrix<Float>.random(rows: batch, columns: n, using: &generator)
        let dy = Matrix<Float>.random(rows: batch, columns: m, scale: 1e-2, using: &generator)
        let start = Matrix<Float>.random(rows: m, columns: n + 1, scale: 0.05, using: &generator)
        let spec = LayerSpec.dense(outputs: m, inputs: n, bias: true)
        let sgdSettings = SGDSettings(learningRate: 1e-3, momentum: 0.9, weightDecay: 1e-4)
        var workspace = StepWorkspace(x: x, dy: dy, start: start, outputs: m, inputs: n)

        plan.progress("steps: \(shape.name), batch \(batch): SGD, Adam, K-FAC")
        let sgd = try workspace.time(plan: plan, fused: false) { try SGDOptimizer<Float>(settings: sgdSettings) }
        let adam = try workspace.time(plan: plan, fused: false) { try AdamOptimizer<Float>(settings: AdamSettings()) }
        let kfac = try workspace.time(plan: plan, fused: false) {
            try KFACOptimizer<Float>(configuration: KFACConfiguration(sgd: sgdSettings, inverseInterval: 2, batchSize: batch))
        }

        var figures: [StepFigure] = []
        var measured: [String: (refresh: Double, apply: Double)] = [:]
        for fused in [false, true] {
            for k in intervals {
                var probe = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                    sgd: sgdSettings, inverseInterval: k, batchSize: batch, fusedApply: fused))
                let probeLayer = try probe.register(spec)
                let chosen = try probe.plan(for: probeLayer)!
                let key = "\(fused) \(chosen.side) \(chosen.method)"
                if measured[key] == nil {
                    plan.progress("steps: \(shape.name), batch \(batch): NG+ \(fused ? "fused" : "gradient") \(chosen.side) \(chosen.method)")
                    measured[key] = try workspace.time(plan: plan, fused: fused) {
                        try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                            sgd: sgdSettings, inverseInterval: 2, side: chosen.side == .left ? .left : .right,
                            method: chosen.method, batchSize: batch, fusedApply: fused))
                    }
                }
                let ngplus = measured[key]!
                let amortized = { (times: (refresh: Double, apply: Double)) in
                    (times.refresh + Double(k - 1) * times.apply) / Double(k)
                }
                let sgdMs = sgd.apply
                let ngplusMs = amortized(ngplus)
                let sgdFlops = 6 * Double(m) * Double(n + 1) * Double(batch)
                figures.append(StepFigure(
                    layer: shape.name, m: m, n: n, batch: batch, k: k, form: fused ? "fused" : "gradient",
                    plan: "\(chosen.side) \(chosen.method)", sgdMs: sgdMs, ngplusMs: ngplusMs,
                    ratio: ngplusMs / sgdMs,
                    bound: 1 + chosen.flopsPerStep(inverseInterval: k, statisticsInterval: k) / sgdFlops,
                    kfacMs: amortized(kfac), adamMs: adam.apply))
            }
        }
        return figures
    }
}

/// The data and buffers of one layer's steps, shared by every optimizer timed on it.
struct StepWorkspace {
    let x: Matrix<Float>
    let dy: Matrix<Float>
    let start: Matrix<Float>
    let outputs: Int
    let inputs: Int
    var y: Matrix<Float>
    var dx: Matrix<Float>
    var gradient: Matrix<Float>

    init(x: Matrix<Float>, dy: Matrix<Float>, start: Matrix<Float>, outputs: Int, inputs: Int) {
        self.x = x
        self.dy = dy
        self.start = start
        self.outputs = outputs
        self.inputs = inputs
        y = Matrix(rows: x.rows, columns: outputs)
        dx = Matrix(rows: x.rows, columns: inputs)
        gradient = Matrix(rows: outputs, columns: inputs + 1)
    }

    /// Forward and input gradient with W, the first n columns of W̃ (leading dimension n + 1).
    mutating func forwardAndBackward(_ weight: Matrix<Float>) {
        let (batch, m, n) = (x.rows, outputs, inputs)
        weight.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    Float.gemm(transposeA: false, transposeB: true, m: batch, n: m, k: n, alpha: 1,
                               a: px.baseAddress!, lda: n, b: w.baseAddress!, ldb: n + 1, beta: 0, c: py.baseAddress!, ldc: m)
                }
            }
            dy.withUnsafeBufferPointer { pdy in
                dx.withUnsafeMutableBufferPointer { pdx in
                    Float.gemm(transposeA: false, transposeB: false, m: batch, n: n, k: m, alpha: 1,
                               a: pdy.baseAddress!, lda: m, b: w.baseAddress!, ldb: n + 1, beta: 0, c: pdx.baseAddress!, ldc: n)
                }
            }
        }
    }

    /// Median milliseconds of the optimizer's even steps (which refresh when its interval is
    /// 2) and odd steps (which only apply). Each timed step is a whole training step.
    mutating func time<O: LayerOptimizer>(
        plan: RunPlan, fused: Bool, _ make: () throws -> O
    ) throws -> (refresh: Double, apply: Double) where O.Scalar == Float {
        var optimizer = try make()
        let layer = try optimizer.register(.dense(outputs: outputs, inputs: inputs, bias: true))
        var weight = start
        var even: [Double] = []
        var odd: [Double] = []
        for cycle in 0..<(plan.warmup + plan.repetitions) {
            for parity in 0..<2 {
                let stats = try TimingStats.measure(warmup: 0, repetitions: 1) {
                    forwardAndBackward(weight)
                    try optimizer.observe(layer, inputs: x, outputGradients: dy)
                    if fused {
                        try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
                    } else {
                        try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
                        try optimizer.step(layer, weight: &weight, gradient: gradient)
                    }
                }
                if cycle >= plan.warmup {
                    if parity == 0 { even.append(stats.median) } else { odd.append(stats.median) }
                }
            }
        }
        return (median(even), median(odd))
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
