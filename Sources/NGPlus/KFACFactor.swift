import NGKernels

/// One Kronecker factor of K-FAC's curvature (A of the inputs or G of the output gradients)
/// and its damped inverse, in one of two forms (`method`):
///
/// - explicit (`.explicitInverse`): the factor in use, the one a statistics step stages, and
///   its damped Cholesky inverse;
/// - low-rank (`.woodbury`, a dense layer's input factor, `KFACFlops.inputMethod`): the rows
///   `u_i = x̃_i/B` of `A = B·UᵀU = (1/B)·X̃ᵀX̃` — one batch's Gram, which is all a running
///   average of 1 keeps — and their `WoodburyInverse`, the same damped inverse without an
///   order × order matrix.
struct KFACFactor<Scalar: BLASScalar>: Sendable {
    let method: CurvatureMethod
    /// The factor in use and the staged one (order 1, unused, when low-rank).
    var factor: BlockDiagonalMatrix<Scalar>
    var staged: BlockDiagonalMatrix<Scalar>
    /// The rows in use and the staged ones (none unless low-rank).
    var rows: FactorRows<Scalar>
    var stagedRows: FactorRows<Scalar>
    var inverse: CurvatureInverse<Scalar>

    init(order: Int, method: CurvatureMethod = .explicitInverse, batch: Int, maxRetries: Int) throws(NGError) {
        self.method = method
        let lowRank = method == .woodbury
        // One block of the whole order, as its inverse expects (not the default block size).
        factor = try BlockDiagonalMatrix(dimension: lowRank ? 1 : order, blockSize: lowRank ? 1 : order)
        staged = factor
        rows = FactorRows(capacity: lowRank ? batch : 0, width: order)
        stagedRows = rows
        inverse = try CurvatureInverse(method: method, order: order, blockSize: order, maxRetries: maxRetries)
    }

    var isLowRank: Bool { method == .woodbury }

    /// Readies the staged factor for a running average of weight `weight` on the new batch:
    /// the factor in use copied in unless the batch replaces it (`weight == 1`, always so for
    /// the low-rank form).
    mutating func prepareStaging(weight: Scalar) throws(NGError) {
        if weight != 1 && !isLowRank { try staged.assign(from: factor) }
    }

    /// Throws `nonFinite` when what was staged is not finite (finite inputs whose products
    /// overflow).
    func requireStagedFinite(_ operation: NGError.Operation, _ argument: String) throws(NGError) {
        if !isLowRank { return try staged.requireFinite(operation, argument) }
        if !stagedRows.isFinite { throw .nonFinite(operation: operation, argument: argument, row: 0, column: 0) }
    }

    /// Puts the staged factor in use (checked finite by the caller).
    mutating func commitStaged() {
        if isLowRank { swap(&rows, &stagedRows) } else { swap(&factor, &staged) }
    }

    /// Stages a refresh of the inverse from the factor in use.
    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome {
        try inverse.stageRefresh(gfim: factor, factor: isLowRank ? (rows.buffer, rows.count) : nil, damping: damping)
    }

    /// The values a data-parallel run sums: the explicit factor's (none when low-rank, whose
    /// rows are gathered).
    var summedCount: Int { isLowRank ? 0 : factor.blockStorageCount }
}

extension KFACFactor: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(method.rawValue)
        factor.encode(to: &writer)
        rows.encode(to: &writer)
        inverse.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let saved = try reader.readString()
        guard saved == method.rawValue else { throw reader.fail("a K-FAC factor kept as \(saved), now \(method.rawValue)") }
        try factor.restore(from: &reader)
        try rows.restore(from: &reader)
        try inverse.restore(from: &reader)
    }
}
