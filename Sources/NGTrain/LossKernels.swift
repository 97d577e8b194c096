import Foundation
import NGPlus

extension NetworkKernels {
    /// Softmax cross-entropy of `rows` rows of `classes` logits (`leadingDimension` apart)
    /// against `labels`: returns the summed loss `Σ log Σⱼ e^(zⱼ − m) + m − z_label` (m the
    /// row's largest logit, so no exponential overflows) and writes the gradient of the mean,
    /// `(softmax − one-hot)/rows`, into `gradient` (`classes` apart). The exponentials run in a
    /// loop of their own, written to `gradient`, so that loop is a vector loop; the logarithm,
    /// once a row, in Double. The sum runs in order and each gradient is `(eⱼ/Σ − δⱼ)/rows`,
    /// so that in Double the gradient is bit for bit what the plain formula gives: a row's
    /// gradients sum to zero only up to rounding, and whether a GFIM built from them factors at
    /// a damping of 10⁻³⁰⁰ is decided by that rounding (the data-parallel failure tests).
    @inlinable
    public static func softmaxCrossEntropy<Scalar: NetworkScalar>(
        _ logits: UnsafePointer<Scalar>, rows: Int, classes: Int, leadingDimension: Int, labels: UnsafeBufferPointer<Int>,
        into gradient: UnsafeMutablePointer<Scalar>
    ) -> Double {
        let count = Scalar(rows)
        var total = 0.0
        for i in 0..<rows {
            let (z, g) = (logits + i * leadingDimension, gradient + i * classes)
            var largest = z[0]
            for j in 1..<classes where z[j] > largest { largest = z[j] }
            Scalar.shiftedExponentials(z, into: g, count: classes, shift: largest)
            var sum: Scalar = 0
            for j in 0..<classes { sum += g[j] }
            let label = labels[i]
            total += Double(largest) + log(Double(sum)) - Double(z[label])
            let labelProbability = g[label] / sum
            for j in 0..<classes { g[j] = g[j] / sum / count }
            g[label] = (labelProbability - 1) / count
        }
        return total
    }
}
