import Foundation
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

    /// An attention block's projections in `ngbench train --model transformer`'s language model
    /// (width 128), timed on a batch of token rows: 16 sequences of 128 tokens.
    static let attention = [
        LayerShape(name: "attention.qkv 128→384", outputs: 384, inputs: 128),
        LayerShape(name: "attention.out 128→128", outputs: 128, inputs: 128),
    ]
    static let attentionTokens = 16 * 128
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
    /// The flop bound of NG+/SGD for the plan (docs/ALGORITHM.md §6).
    let bound: Double
    let kfacMs: Double
    let adamMs: Double
    /// Muon (the same work every step) and Shampoo (its roots every k steps, amortized).
    let muonMs: Double
    let shampooMs: Double
}

/// Times one dense layer's training step for SGD, Adam, K-FAC, Muon, Shampoo and NG+ on the
/// same data:
/// forward `Y = X·Wᵀ` and input gradient `dX = dY·W` (GEMMs every optimizer pays), then the
/// optimizer's own work from X and dY. Steps that refresh (statistics + inverse) and steps
/// that only apply are timed apart, and a step at interval k costs
/// `(refresh + (k − 1)·apply)/k`, exactly the mix of a training run. Every optimizer's steps
/// are timed interleaved, cycle after cycle, so that the machine's drift over the run (it is
/// shared) falls on all of them alike and the ratios hold; a cycle is repeated until the
/// figures cover at least 50 ms each, so that steps of a few microseconds get enough samples.
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
        let workspace = StepWorkspace(x: x, dy: dy, start: start, outputs: m, inputs: n)

        // NG+'s automatic plan for each form and interval; each distinct plan is timed once.
        var chosen: [String: CurvaturePlan] = [:]
        var keys: [(fused: Bool, k: Int, key: String)] = []
        for fused in [false, true] {
            for k in intervals {
                var probe = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                    sgd: sgdSettings, inverseInterval: k, batchSize: batch, fusedApply: fused))
                let layer = try probe.register(spec)
                let plan = try probe.plan(for: layer)!
                let key = "\(fused) \(plan.side) \(plan.method)"
                chosen[key] = plan
                keys.append((fused, k, key))
            }
        }
        let distinct = keys.map(\.key).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }

        plan.progress(
            "steps: \(shape.name), batch \(batch): SGD, Adam, K-FAC, Muon, Shampoo, NG+ (\(distinct.joined(separator: "; ")))")
        var steppers = [
            try workspace.stepper(fused: false) { try SGDOptimizer<Float>(settings: sgdSettings) },
            try workspace.stepper(fused: false) { try AdamOptimizer<Float>(settings: AdamSettings()) },
            try workspace.stepper(fused: false) {
                try KFACOptimizer<Float>(configuration: KFACConfiguration(sgd: sgdSettings, inverseInterval: 2, batchSize: batch))
            },
            try workspace.stepper(fused: false) { try MuonOptimizer<Float>(settings: MuonSettings()) },
            try workspace.stepper(fused: false) {
                try ShampooOptimizer<Float>(settings: ShampooSettings(inverseInterval: 2))
            },
        ]
        for key in distinct {
            let curvature = chosen[key]!
            steppers.append(try workspace.stepper(fused: key.hasPrefix("true")) {
                try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                    sgd: sgdSettings, inverseInterval: 2, side: curvature.side == .left ? .left : .right,
                    method: curvature.method, batchSize: batch, fusedApply: key.hasPrefix("true")))
            })
        }
        let times = try StepWorkspace.timeInterleaved(steppers, plan: plan)
        let (sgd, adam, kfac, muon, shampoo) = (times[0], times[1], times[2], times[3], times[4])

        let amortized = { (times: (refresh: Double, apply: Double), k: Int) in
            (times.refresh + Double(k - 1) * times.apply) / Double(k)
        }
        return keys.map { entry in
            let curvature = chosen[entry.key]!
            let ngplusMs = amortized(times[5 + distinct.firstIndex(of: entry.key)!], entry.k)
            let sgdFlops = 6 * Double(m) * Double(n + 1) * Double(batch)
            return StepFigure(
                layer: shape.name, m: m, n: n, batch: batch, k: entry.k, form: entry.fused ? "fused" : "gradient",
                plan: "\(curvature.side) \(curvature.method)", sgdMs: sgd.apply, ngplusMs: ngplusMs,
                ratio: ngplusMs / sgd.apply,
                bound: 1 + curvature.flopsPerStep(inverseInterval: entry.k, statisticsInterval: entry.k) / sgdFlops,
                kfacMs: amortized(kfac, entry.k), adamMs: adam.apply, muonMs: (muon.refresh + muon.apply) / 2,
                shampooMs: amortized(shampoo, entry.k))
        }
    }
}

/// The data and buffers of one layer's steps, shared by every optimizer timed on it.
final class StepWorkspace {
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

    /// Forward and input gradient with W, the first n columns of W̃, through the package's
    /// GEMM (as NGTrain's layers run them).
    func forwardAndBackward(_ weight: Matrix<Float>) {
        weight.withView { weight in
            let w = weight.columns(0..<inputs)
            x.withView { x in y.withMutableView { y in BLAS.gemm(x, w, transposeB: true, into: y) } }
            dy.withView { dy in dx.withMutableView { dx in BLAS.gemm(dy, w, into: dx) } }
        }
    }

    /// A whole training step of a new optimizer on this layer, with its own weights: each call
    /// is the next step (with interval 2, even steps refresh and odd ones only apply).
    func stepper<O: LayerOptimizer>(fused: Bool, _ make: () throws -> O) throws -> () throws -> Void where O.Scalar == Float {
        var optimizer = try make()
        let layer = try optimizer.register(.dense(outputs: outputs, inputs: inputs, bias: true))
        var weight = start
        return { [self] in
            forwardAndBackward(weight)
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            if fused {
                try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
            } else {
                try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
                try optimizer.step(layer, weight: &weight, gradient: gradient)
            }
        }
    }

    /// Median milliseconds of each stepper's even (refreshing) and odd (applying) steps,
    /// timed one cycle of all steppers after another.
    static func timeInterleaved(
        _ steppers: [() throws -> Void], plan: RunPlan
    ) throws -> [(refresh: Double, apply: Double)] {
        var even = Array(repeating: [Double](), count: steppers.count)
        var odd = even
        func cycle(record: Bool) throws {
            for (index, step) in steppers.enumerated() {
                for parity in 0..<2 {
                    let stats = try TimingStats.measure(warmup: 0, repetitions: 1, step)
                    guard record else { continue }
                    if parity == 0 { even[index].append(stats.median) } else { odd[index].append(stats.median) }
                }
            }
        }
        for _ in 0..<plan.warmup { try cycle(record: false) }
        // At least the plan's repetitions, and enough cycles for 50 ms per figure.
        let started = DispatchTime.now().uptimeNanoseconds
        try cycle(record: true)
        let cycleSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let perFigure = cycleSeconds / Double(2 * steppers.count)
        let cycles = plan.quick ? plan.repetitions : max(plan.repetitions, min(5000, Int(0.05 / max(perFigure, 1e-9))))
        for _ in 1..<max(cycles, 1) { try cycle(record: true) }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return steppers.indices.map { (median(even[$0]), median(odd[$0])) }
    }
}
