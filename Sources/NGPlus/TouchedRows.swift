/// The rows of an embedding table one step looked up, each once, in the order of their first
/// lookup, with their summed output gradients: the compact gradient of a sparse step. A map as
/// long as the vocabulary (made once) finds a row's place; only the entries of touched rows are
/// reset after the step, so a step costs in proportion to its lookups, not the vocabulary.
struct TouchedRows: Sendable {
    /// Per table row: its place among the touched rows, or -1.
    private var place: [Int32]
    /// The touched table rows, in order of first lookup.
    private(set) var rows: [Int] = []
    /// Per touched row: how many lookups read it.
    private(set) var lookupCounts: [Int] = []

    init(vocabulary: Int) {
        place = Array(repeating: -1, count: vocabulary)
    }

    /// The number of distinct rows looked up.
    var count: Int { rows.count }

    /// Finds the distinct rows of `lookups` (validated: each in the table) and writes into row
    /// k of `compact` the sum of the rows of `outputGradients` that looked up `rows[k]`, in
    /// lookup order. `compact` has at least as many rows as there are distinct lookups and
    /// `outputGradients`' width. Call `reset` when the step is over.
    mutating func gather<Scalar: BLASScalar>(
        lookups: [Int], outputGradients: Matrix<Scalar>, into compact: inout Matrix<Scalar>
    ) {
        precondition(rows.isEmpty, "touched rows gathered twice without a reset")
        outputGradients.withView { dy in
            compact.withMutableView { target in
                place.withUnsafeMutableBufferPointer { place in
                    // The map is as long as the vocabulary: its entries miss the caches too.
                    for r in 0..<Swift.min(prefetchRowsAhead, lookups.count) {
                        prefetch(place.baseAddress! + lookups[r], count: 1)
                    }
                    for r in 0..<lookups.count {
                        if r + prefetchRowsAhead < lookups.count {
                            prefetch(place.baseAddress! + lookups[r + prefetchRowsAhead], count: 1)
                        }
                        let row = lookups[r]
                        let source = dy.rows(r..<r + 1)
                        let k = Int(place[row])
                        if k >= 0 {
                            BLAS.axpy(1, source, into: target.rows(k..<k + 1))
                            lookupCounts[k] += 1
                            continue
                        }
                        place[row] = Int32(rows.count)
                        target.rows(rows.count..<rows.count + 1).update(from: source)
                        rows.append(row)
                        lookupCounts.append(1)
                    }
                }
            }
        }
    }

    /// Forgets the last step's rows (keeping the storage).
    mutating func reset() {
        for k in 0..<rows.count { place[rows[k]] = -1 }
        rows.removeAll(keepingCapacity: true)
        lookupCounts.removeAll(keepingCapacity: true)
    }
}

/// Copies row k of `compact` into row `rows[k]` of `full`, for every touched row: a sparse
/// step's commit of new weights or state.
func scatterRows<Scalar: BLASScalar>(_ rows: [Int], from compact: Matrix<Scalar>, into full: inout Matrix<Scalar>) {
    compact.withView { source in
        full.withMutableView { target in
            for k in 0..<rows.count {
                let row = rows[k]
                target.rows(row..<row + 1).update(from: source.rows(k..<k + 1))
            }
        }
    }
}
