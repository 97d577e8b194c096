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
    /// The factor (order 1, unused, when low-rank).
    var factor: Staged<BlockDiagonalMatrix<Scalar>>
    /// The rows (none unless low-rank).
    var rows: Staged<FactorRows<Scalar>>
    var inverse: CurvatureInverse<Scalar>

    init(order: Int, method: CurvatureMethod = .explicitInverse, batch: Int, maxRetries: Int) throws(NGError) {
        self.method = method
        let lowRank = method == .woodbury
        // One block of the whole order, as its inverse expects (not the default block size).
        factor = Staged(try BlockDiagonalMatrix(dimension: lowRank ? 1 : order, blockSize: lowRank ? 1 : order))
        rows = Staged(FactorRows(capacity: lowRank ? batch : 0, width: order))
        inverse = try CurvatureInverse(method: method, order: order, blockSize: order, maxRetries: maxRetries)
    }

    var isLowRank: Bool { method == .woodbury }

    /// Readies the staged factor for a running average of weight `weight` on the new batch:
    /// the factor in use copied in unless the batch replaces it (`weight == 1`, always so for
    /// the low-rank form).
    mutating func prepareStaging(weight: Scalar) throws(NGError) {
        if !isLowRank { try factor.prepareAverage(weight: weight) }
    }

    /// Throws `nonFinite` when what was staged is not finite (finite inputs whose products
    /// overflow).
    func requireStagedFinite(_ operation: NGError.Operation, _ argument: String) throws(NGError) {
        if !isLowRank { return try factor.staged.requireFinite(operation, argument) }
        if !rows.staged.isFinite { throw .nonFinite(operation: operation, argument: argument, row: 0, column: 0) }
    }

    /// Puts the staged factor in use (checked finite by the caller).
    mutating func commitStaged() {
        if isLowRank { rows.commit() } else { factor.commit() }
    }

    /// Stages a refresh of the inverse from the factor in use.
    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome {
        try inverse.stageRefresh(
            gfim: factor.current, factor: isLowRank ? (rows.current.buffer, rows.current.count) : nil, damping: damping)
    }

    /// The values a data-parallel run sums: the explicit factor's (none when low-rank, whose
    /// rows are gathered).
    var summedCount: Int { isLowRank ? 0 : factor.current.blockStorageCount }
}

extension KFACFactor: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(method.rawValue)
        factor.current.encode(to: &writer)
        rows.current.encode(to: &writer)
        inverse.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let saved = try reader.readString()
        guard saved == method.rawValue else { throw reader.fail("a K-FAC factor kept as \(saved), now \(method.rawValue)") }
        try factor.current.restore(from: &reader)
        try rows.current.restore(from: &reader)
        try inverse.restore(from: &reader)
    }
}
