import Foundation
import NGPlus

/// A generated click log for `Model.dlrm`. No click log can be downloaded here, so one is made
/// the way DLRM's own benchmarks make theirs — categorical ids from Zipf distributions (id k of
/// a table of V drawn with probability ∝ 1/(k+1)^s), dense features from N(0, 1) — but
/// learnable: each click is drawn from the probability a fixed teacher of the same family
/// (`Model.dlrm` with its own seed) gives its row, `p = σ(2·(u − ū)/σ_u − 1)` with u the
/// teacher's logit difference standardized over the log (a click rate near 30%). The best
/// expected log-loss any model can reach is then known: the mean binary entropy of those
/// probabilities over the test rows (`bayesLogLoss`).
///
/// Rows are `[dense features | every table's bag of ids]`, as `Model.dlrm` reads them; labels
/// are 1 for a click.
public struct ClickLog: Sendable {
    public let train: Dataset
    public let test: Dataset
    /// The expected log-loss of the teacher's probabilities on the test rows, in nats.
    public let bayesLogLoss: Double
    /// The fraction of training rows clicked.
    public let clickRate: Double

    /// - Throws: `invalidArgument` for a count below 1, a Zipf exponent that is not positive and
    ///   finite, or the sizes `Model.dlrm` refuses.
    public static func generate(
        trainCount: Int, testCount: Int, denseFeatures: Int = 13, vocabularies: [Int] = Array(repeating: 100_000, count: 8),
        bag: Int = 2, width: Int = 16, zipfExponent: Double = 1.05, seed: UInt64
    ) throws(NGError) -> ClickLog {
        try NGError.Operation.clickLogGenerate.require(
            trainCount >= 1 && testCount >= 1 && zipfExponent > 0 && zipfExponent.isFinite, "trainCount, testCount, zipfExponent",
            "needs counts of at least 1 and a positive exponent, got \(trainCount), \(testCount), \(zipfExponent)")
        let teacher = try Model<Float>.dlrm(
            denseFeatures: denseFeatures, vocabularies: vocabularies, bag: bag, width: width, seed: seed &+ 0x7EAC_4E12)
        var generator = SeededGenerator(seed: seed)
        let samplers = Dictionary(Set(vocabularies).map { ($0, ZipfSampler(count: $0, exponent: zipfExponent)) }) { a, _ in a }
        let count = trainCount + testCount
        let columns = denseFeatures + vocabularies.count * bag
        let rows = Matrix<Float>(rows: count, columns: columns) { _, column in
            guard column >= denseFeatures else { return Float(normal(using: &generator)) }
            let table = (column - denseFeatures) / bag
            return Float(samplers[vocabularies[table]]!.draw(using: &generator))
        }
        // The teacher's logit differences, standardized over the whole log.
        var u = [Double](repeating: 0, count: count)
        var start = 0
        while start < count {
            let end = min(start + 1024, count)
            let logits = try teacher.forward(teacher.gather(rows, Array(start..<end)[...]))
            for i in 0..<(end - start) { u[start + i] = Double(logits[i, 1] - logits[i, 0]) }
            start = end
        }
        let mean = u.reduce(0, +) / Double(count)
        let deviation = max((u.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)).squareRoot(), 1e-12)
        let probabilities = u.map { 1 / (1 + exp(-(2 * ($0 - mean) / deviation - 1))) }
        let labels = probabilities.map { Double.random(in: 0..<1, using: &generator) < $0 ? 1 : 0 }
        func split(_ range: Range<Int>) throws(NGError) -> Dataset {
            let part = Matrix<Float>(rows: range.count, columns: columns) { i, j in rows[range.lowerBound + i, j] }
            return try Dataset(images: part, labels: Array(labels[range]), classes: 2, height: 1, width: columns)
        }
        let entropy = probabilities[trainCount...].reduce(0.0) { total, p in
            total - (p > 0 ? p * log(p) : 0) - (p < 1 ? (1 - p) * log(1 - p) : 0)
        }
        return ClickLog(
            train: try split(0..<trainCount), test: try split(trainCount..<count),
            bayesLogLoss: entropy / Double(testCount),
            clickRate: Double(labels[..<trainCount].reduce(0, +)) / Double(trainCount))
    }
}

/// Draws k in `0..<count` with probability ∝ 1/(k+1)^exponent, by bisection of the cumulative
/// weights.
struct ZipfSampler: Sendable {
    let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var total = 0.0
        cumulative = (0..<count).map { k in
            total += pow(Double(k + 1), -exponent)
            return total
        }
    }

    func draw(using generator: inout SeededGenerator) -> Int {
        let target = Double.random(in: 0..<cumulative[cumulative.count - 1], using: &generator)
        var (low, high) = (0, cumulative.count - 1)
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
