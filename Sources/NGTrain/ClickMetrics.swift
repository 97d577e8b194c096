import Foundation
import NGPlus

/// How well a click model (`Model.dlrm`: two logits, `p(click) = σ(z₁ − z₀)`) predicts a
/// labelled set: its log-loss and the area under its ROC curve.
public struct ClickMetrics: Sendable, Equatable {
    /// The mean binary cross-entropy, in nats.
    public let logLoss: Double
    /// The probability that a clicked row scores above an unclicked one (ties count one half);
    /// 0.5 when either kind is missing.
    public let auc: Double

    /// The metrics of `model` on `data`, in batches of `batchSize`.
    /// - Throws: `invalidArgument` for a model without two outputs, and what its forward pass throws.
    public static func evaluate(_ model: Model<Float>, on data: Dataset, batchSize: Int = 1024) throws(NGError) -> ClickMetrics {
        var scores = [Double](repeating: 0, count: data.count)
        var start = 0
        while start < data.count {
            let end = min(start + max(batchSize, 1), data.count)
            let logits = try model.forward(model.gather(data.images, Array(start..<end)[...]))
            try NGError.Operation.clickMetricsEvaluate.require(
                logits.columns == 2, "model", "has \(logits.columns) outputs, not 2")
            for i in 0..<(end - start) { scores[start + i] = Double(logits[i, 1] - logits[i, 0]) }
            start = end
        }
        return ClickMetrics(scores: scores, labels: data.labels)
    }

    /// The metrics of logit differences `scores` (the click's logit over the other) against
    /// `labels` (1: a click).
    public init(scores: [Double], labels: [Int]) {
        precondition(scores.count == labels.count, "a score for every label")
        // −log σ(u) = softplus(−u) for a click, −log(1 − σ(u)) = softplus(u) otherwise.
        func softplus(_ x: Double) -> Double { x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)) }
        let loss = zip(scores, labels).reduce(0.0) { $0 + softplus($1.1 == 1 ? -$1.0 : $1.0) }
        logLoss = scores.isEmpty ? 0 : loss / Double(scores.count)
        // Mann–Whitney: the rank sum of the clicks, ties sharing their mean rank.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] == 1 { rankSum += rank }
            i = j + 1
        }
        let positives = Double(labels.filter { $0 == 1 }.count)
        let negatives = Double(labels.count) - positives
        auc = positives == 0 || negatives == 0 ? 0.5 : (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }
}
