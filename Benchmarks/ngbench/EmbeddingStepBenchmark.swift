import Foundation
import NGPlus

/// One row of the embedding table: per-step milliseconds of each optimizer on one table.
struct EmbeddingStepFigure: Codable {
    let vocabulary: Int
    let width: Int
    let lookups: Int
    /// Distinct rows the step's lookups touch.
    let rows: Int
    let k: Int
    let sgdMs: Double
    let adamMs: Double
    let kfacMs: Double
    let ngplusMs: Double
    /// NG+'s flops over SGD's per step, amortized over k: the right-side apply `2·d²·rows`, the
    /// GFIM `2·d²·lookups` and the refresh `d³` (each of the last two once per k steps).
    let ngplusExtraFlops: Double
    /// Those flops at this run's sgemm peak, in milliseconds: the extra NG+ cannot beat.
    let ngplusExtraBoundMs: Double

    var ratio: Double { ngplusMs / sgdMs }
    /// NG+'s measured extra over SGD against the bound of its flops.
    var extraOverBound: Double { (ngplusMs - sgdMs) / ngplusExtraBoundMs }
}

/// Times a sparse embedding step for SGD, Adam, K-FAC and NG+ on the same lookups, at each of
/// several vocabulary sizes: the lookup itself (the forward gather every optimizer pays) and
/// the optimizer's step of the looked-up rows. The lookups are the same at every size — drawn
/// from the first `idRange` ids with Zipf frequencies (p(i) ∝ 1/(i + 1), as words in text) —
/// so the sizes differ only in the rows nobody reads: a step whose cost grows with the
/// vocabulary shows it here. Timed as `StepBenchmark` does (interleaved, refresh and apply
/// steps apart, amortized over k).
struct EmbeddingStepBenchmark {
    let vocabularies: [Int]
    let width: Int
    let lookups: Int
    let idRange: Int
    let k: Int
    let peakGflops: Double
    let plan: RunPlan

    /// The suite's row: tables of 32,768 and 262,144 × 128, a batch of 128 sequences × 128 tokens.
    static func suite(peakGflops: Double, plan: RunPlan) -> EmbeddingStepBenchmark {
        EmbeddingStepBenchmark(
            vocabularies: plan.quick ? [4096, 32768] : [32768, 262_144], width: plan.quick ? 32 : 128,
            lookups: plan.quick ? 1024 : 128 * 128, idRange: 32768, k: 10, peakGflops: peakGflops, plan: plan)
    }

    func run() throws -> [EmbeddingStepFigure] {
        var generator = SeededGenerator(seed: 5)
        let ids = Self.zipfLookups(count: lookups, range: min(idRange, vocabularies.min()!), using: &generator)
        let dy = Matrix<Float>.random(rows: lookups, columns: width, scale: 1e-2 / Double(lookups), using: &generator)
        let rows = Set(ids).count
        let sgdSettings = SGDSettings(learningRate: 1e-3, momentum: 0.9, weightDecay: 1e-4)
        var figures: [EmbeddingStepFigure] = []
        for vocabulary in vocabularies {
            plan.progress("embedding steps: \(vocabulary) × \(width), \(lookups) lookups (\(rows) rows): SGD, Adam, K-FAC, NG+")
            let start = Matrix<Float>.random(rows: vocabulary, columns: width, scale: 0.05, using: &generator)
            let workspace = EmbeddingWorkspace(ids: ids, dy: dy, start: start)
            let ngplus = NGPlusConfiguration(sgd: sgdSettings, damping: 0.1, inverseInterval: 2, batchSize: lookups)
            let steppers = [
                try workspace.stepper { try SGDOptimizer<Float>(settings: sgdSettings) },
                try workspace.stepper { try AdamOptimizer<Float>(settings: AdamSettings()) },
                try workspace.stepper {
                    try KFACOptimizer<Float>(configuration: KFACConfiguration(
                        sgd: sgdSettings, damping: 0.1, inverseInterval: 2, batchSize: lookups))
                },
                try workspace.stepper { try NGPlusOptimizer<Float>(configuration: ngplus) },
            ]
            let times = try StepWorkspace.timeInterleaved(steppers, plan: plan)
            let amortized = { (times: (refresh: Double, apply: Double)) in
                (times.refresh + Double(k - 1) * times.apply) / Double(k)
            }
            var probe = try NGPlusOptimizer<Float>(configuration: ngplus)
            let handle = try probe.register(.embedding(vocabulary: vocabulary, width: width))
            let curvature = try probe.plan(for: handle)!
            let d = Double(width)
            let extra = 2 * d * d * Double(rows) + (curvature.statisticsFlops + curvature.refreshFlops) / Double(k)
            figures.append(EmbeddingStepFigure(
                vocabulary: vocabulary, width: width, lookups: lookups, rows: rows, k: k, sgdMs: times[0].apply,
                adamMs: times[1].apply, kfacMs: amortized(times[2]), ngplusMs: amortized(times[3]),
                ngplusExtraFlops: extra, ngplusExtraBoundMs: extra / (peakGflops * 1e6)))
        }
        return figures
    }

    /// `count` ids in `0..<range` with Zipf frequencies, by inverse transform sampling.
    static func zipfLookups(count: Int, range: Int, using generator: inout SeededGenerator) -> [Int] {
        var cumulative = [Double](repeating: 0, count: range)
        var total = 0.0
        for i in 0..<range {
            total += 1 / Double(i + 1)
            cumulative[i] = total
        }
        return (0..<count).map { _ in
            let u = Double.random(in: 0..<total, using: &generator)
            var (low, high) = (0, range - 1)
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] <= u { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }
}

/// The lookups of one table's steps, shared by every optimizer timed on it.
final class EmbeddingWorkspace {
    let ids: [Int]
    let dy: Matrix<Float>
    let start: Matrix<Float>
    var output: Matrix<Float>

    init(ids: [Int], dy: Matrix<Float>, start: Matrix<Float>) {
        self.ids = ids
        self.dy = dy
        self.start = start
        output = Matrix(rows: ids.count, columns: start.columns)
    }

    /// The forward lookup: the table's rows of `ids` into `output`.
    func lookUp(_ table: Matrix<Float>) {
        let width = table.columns
        table.withUnsafeBufferPointer { t in
            output.withUnsafeMutableBufferPointer { y in
                for r in ids.indices {
                    (y.baseAddress! + r * width).update(from: t.baseAddress! + ids[r] * width, count: width)
                }
            }
        }
    }

    /// A whole training step of a new optimizer on its own copy of the table: the lookup, then
    /// the sparse step (with interval 2, even steps refresh and odd ones only apply).
    func stepper<O: LayerOptimizer>(_ make: () throws -> O) throws -> () throws -> Void where O.Scalar == Float {
        var optimizer = try make()
        let layer = try optimizer.register(.embedding(vocabulary: start.rows, width: start.columns))
        var table = start
        return { [self] in
            lookUp(table)
            try optimizer.step(layer, table: &table, lookups: ids, outputGradients: dy)
        }
    }
}
