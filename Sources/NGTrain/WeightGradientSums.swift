import NGPlus

/// Where a convolution's backward pass a sample at a time puts its weight gradient. The samples
/// are summed in groups of `groupSize`, each group on one thread, into `partials` (a row of
/// c_out·(K + 1) a group: (K + 1) × c_out when the pass forms each sample's gradient transposed,
/// c_out × (K + 1) otherwise), then the groups in order into `gradient` (c_out × (K + 1)): the
/// sum does not depend on the thread count. With `samples`, each sample's transposed gradient
/// `dW̃ᵢᵀ` is kept too, in its c_out columns of a (K + 1) × (B·c_out) matrix: the per-sample
/// gradients an optimizer's statistics take (`LayerOptimizer.observe(_:sampleGradients:)`).
public struct WeightGradientSums<Scalar: NetworkScalar> {
    public let groupSize: Int
    public let partials: UnsafeMutablePointer<Scalar>
    public let gradient: UnsafeMutablePointer<Scalar>
    public let samples: UnsafeMutablePointer<Scalar>?

    public init(
        groupSize: Int, partials: UnsafeMutablePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>,
        samples: UnsafeMutablePointer<Scalar>?
    ) {
        self.groupSize = groupSize
        self.partials = partials
        self.gradient = gradient
        self.samples = samples
    }

    /// Sample i's kept gradient (`rows` × c_out, rows `batch`·c_out apart), when kept.
    @inline(__always)
    func kept(sample i: Int, batch: Int, outChannels c: Int) -> (base: UnsafeMutablePointer<Scalar>, ld: Int)? {
        samples.map { ($0 + i * c, batch * c) }
    }

    /// Adds a kept sample's gradient (`rows` = K + 1 rows of c_out, `ld` apart) into its group's
    /// sum `sums`, laid out transposed or not; `overwrite` for the group's first sample of a
    /// transposed sum (which nothing zeroed).
    @inline(__always)
    static func add(
        _ kept: UnsafePointer<Scalar>, ld: Int, rows: Int, outChannels c: Int, into sums: UnsafeMutablePointer<Scalar>,
        transposed: Bool, overwrite: Bool
    ) {
        for r in 0..<rows {
            let row = kept + r * ld
            if transposed {
                let target = sums + r * c
                if overwrite { target.update(from: row, count: c) } else { for o in 0..<c { target[o] += row[o] } }
            } else {
                for o in 0..<c { sums[o * rows + r] += row[o] }
            }
        }
    }

    /// The groups' partial sums, in order, into `gradient` (c_out × `columns`).
    func addGroups(_ groups: Int, transposed: Bool, outChannels c: Int, columns: Int) {
        let n = c * columns
        gradient.update(repeating: 0, count: n)
        for group in 0..<groups {
            let sums = partials + group * n
            guard transposed else {
                for e in 0..<n { gradient[e] += sums[e] }
                continue
            }
            for r in 0..<columns {
                for o in 0..<c { gradient[o * columns + r] += sums[r * c + o] }
            }
        }
    }
}
