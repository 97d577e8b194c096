import NGPlus

/// An embedding table's lookups as data-parallel training exchanges them: instead of the table's
/// vocabulary × width gradient in the all-reduce, every process's lookups and their output
/// gradients (scaled by its share of the batch) are all-gathered, in rank order — the whole
/// batch's lookups, in the single-process order — and every process takes the same sparse step
/// from them. What travels is in proportion to the batch's lookups, never the vocabulary.
struct EmbeddingExchange<Scalar: BLASScalar> {
    let vocabulary: Int
    let width: Int
    /// Lookups per batch row, fixed by the first submission (0 before it).
    var perRow = 0
    /// This process's lookups and output gradients (scaled), from `submit`.
    var localLookups: [Int64] = []
    var localRows = Matrix<Scalar>(rows: 0, columns: 0)
    /// The whole batch's, after `synchronize`.
    var lookups: [Int] = []
    var rows = Matrix<Scalar>(rows: 0, columns: 0)

    /// Takes this process's lookups and their output gradients, scaled by `weight`, all or
    /// nothing.
    /// - Throws: `invalidArgument` (a lookup outside the table, not a whole number of lookups per
    ///   row, another number than the earlier steps'), `shapeMismatch`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func submit(
        lookups: [Int], outputGradients: Matrix<Scalar>, localRowCount: Int, weight: Scalar, _ operation: NGError.Operation
    ) throws(NGError) {
        try outputGradients.requireShape(Shape(lookups.count, width), operation, "outputGradients")
        try operation.require(
            !lookups.isEmpty && lookups.count % localRowCount == 0, "lookups",
            "\(lookups.count) lookups are not a whole number for each of this process's \(localRowCount) rows")
        let count = lookups.count / localRowCount
        try operation.require(
            perRow == 0 || count == perRow, "lookups",
            "\(count) lookups a row, where earlier steps had \(perRow): every step's must match")
        for r in 0..<lookups.count where lookups[r] < 0 || lookups[r] >= vocabulary {
            throw .invalidArgument(
                operation: operation, argument: "lookups",
                reason: "lookup \(r) reads row \(lookups[r]), outside the table's \(vocabulary) rows")
        }
        perRow = count
        if localLookups.count != lookups.count { localLookups = Array(repeating: 0, count: lookups.count) }
        for r in 0..<lookups.count { localLookups[r] = Int64(lookups[r]) }
        if localRows.shape != outputGradients.shape {
            localRows = Matrix(rows: outputGradients.rows, columns: width)
        }
        outputGradients.withUnsafeBufferPointer { source in
            localRows.withUnsafeMutableBufferPointer { target in
                pack(source, into: target, scaledBy: weight)
            }
        }
    }

    /// Makes the gathered buffers hold `total` lookups (once).
    mutating func reserve(total: Int) {
        if lookups.count != total { lookups = Array(repeating: 0, count: total) }
        if rows.rows != total { rows = Matrix(rows: total, columns: width) }
    }
}
