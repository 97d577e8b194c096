import Foundation
import NGPlus

/// Softmax cross-entropy, the mean over the batch, computed stably (the largest logit is
/// subtracted before exponentiating). Its gradient with respect to the logits is
/// `(softmax − one-hot)/B`, the gradient of the **mean** loss that NG+ expects.
public struct SoftmaxCrossEntropy<Scalar: BLASScalar> {
    public private(set) var gradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    /// The mean loss of `logits` (B × classes) against `labels`, and its gradient in `gradient`.
    /// - Throws: `shapeMismatch` or `invalidArgument` for a label out of range.
    public mutating func loss(logits: Matrix<Scalar>, labels: ArraySlice<Int>) throws(NGError) -> Double {
        let (batch, classes) = (logits.rows, logits.columns)
        guard labels.count == batch else {
            throw .shapeMismatch(operation: .softmaxCrossEntropyLoss, argument: "labels",
                                 expected: Shape(batch, 1), actual: Shape(labels.count, 1))
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw .invalidArgument(operation: .softmaxCrossEntropyLoss, argument: "labels", reason: "holds \(bad), outside 0..<\(classes)")
        }
        ensureShape(&gradient, batch, classes)
        var total = 0.0
        let start = labels.startIndex
        logits.withView { z in
            gradient.withUnsafeMutableBufferPointer { g in
                for i in 0..<batch {
                    let row = z.rows(i..<i + 1).base
                    var top = row[0]
                    for j in 1..<classes { top = Swift.max(top, row[j]) }
                    var sum = 0.0
                    for j in 0..<classes { sum += exp(Double(row[j] - top)) }
                    let label = labels[start + i]
                    total += Double(top) + log(sum) - Double(row[label])
                    for j in 0..<classes {
                        let p = exp(Double(row[j] - top)) / sum
                        g[i * classes + j] = Scalar((p - (j == label ? 1 : 0)) / Double(batch))
                    }
                }
            }
        }
        return total / Double(batch)
    }
}
