import NGPlus

/// Softmax cross-entropy, the mean over the batch, computed stably (the largest logit is
/// subtracted before exponentiating). Its gradient with respect to the logits is
/// `(softmax − one-hot)/B`, the gradient of the **mean** loss that NG+ expects.
public struct SoftmaxCrossEntropy<Scalar: NetworkScalar> {
    public private(set) var gradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    /// The mean loss of `logits` (B × classes) against `labels`, and its gradient in `gradient`.
    /// - Throws: `shapeMismatch`, or `invalidArgument` for a label out of range or logits of no
    ///   row or no class (the mean of nothing).
    public mutating func loss(logits: Matrix<Scalar>, labels: ArraySlice<Int>) throws(NGError) -> Double {
        let (batch, classes) = (logits.rows, logits.columns)
        try NGError.Operation.softmaxCrossEntropyLoss.require(
            batch >= 1 && classes >= 1, "logits", "are \(batch) × \(classes): no loss to average")
        guard labels.count == batch else {
            throw .shapeMismatch(operation: .softmaxCrossEntropyLoss, argument: "labels",
                                 expected: Shape(batch, 1), actual: Shape(labels.count, 1))
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw .invalidArgument(operation: .softmaxCrossEntropyLoss, argument: "labels", reason: "holds \(bad), outside 0..<\(classes)")
        }
        ensureShape(&gradient, batch, classes)
        let total = logits.withView { z in
            gradient.withMutableView { g in
                labels.withUnsafeBufferPointer { labels in
                    Scalar.softmaxCrossEntropy(
                        z.base, rows: batch, classes: classes, leadingDimension: z.leadingDimension, labels: labels,
                        into: g.base)
                }
            }
        }
        return total / Double(batch)
    }
}
