/// The damped inverse of one curvature block, in exactly one form: `DampedInverse` holds the
/// explicit Cholesky inverse or the Cholesky factor (`InverseMethod`), whole or in diagonal
/// blocks; `WoodburyInverse` the low-rank factors of a fresh per-sample GFIM. Every verb is
/// unchecked: the optimizer validated its arguments at its entry point.
enum CurvatureInverse<Scalar: BLASScalar>: BlockInverse, InPlacePayload {
    case cholesky(DampedInverse<Scalar>)
    case woodbury(WoodburyInverse<Scalar>)
    /// Only while a payload is out (`InPlacePayload`).
    case moving

    /// The inverse a plan asks for, of order `plan.order`, not yet refreshed.
    init(plan: CurvaturePlan, maxRetries: Int) throws(NGError) {
        try self.init(method: plan.method, order: plan.order, blockSize: plan.blockSize, maxRetries: maxRetries)
    }

    /// An inverse of `method` of order `order` (in diagonal blocks of `blockSize` for Cholesky),
    /// not yet refreshed.
    init(method: CurvatureMethod, order: Int, blockSize: Int, maxRetries: Int) throws(NGError) {
        switch method {
        case .woodbury:
            self = .woodbury(try WoodburyInverse(dimension: order, maxRetries: maxRetries))
        case .explicitInverse, .choleskySolve:
            self = .cholesky(try DampedInverse(
                dimension: order, blockSize: blockSize,
                method: method == .choleskySolve ? .choleskySolve : .explicitInverse, maxRetries: maxRetries))
        }
    }

    /// Runs the closure of the form held on the payload, changed in place (`InPlacePayload`).
    mutating func modify<Result, Failure: Error>(
        cholesky: (inout DampedInverse<Scalar>) throws(Failure) -> Result,
        woodbury: (inout WoodburyInverse<Scalar>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        if case .cholesky = self {
            try modify({ if case let .cholesky(inverse) = $0 { inverse } else { nil } }, { .cholesky($0) }, cholesky)
        } else {
            try modify({ if case let .woodbury(inverse) = $0 { inverse } else { nil } }, { .woodbury($0) }, woodbury)
        }
    }

    /// True once a refresh has been committed.
    var isRefreshed: Bool {
        switch self {
        case let .cholesky(inverse): inverse.isRefreshed
        case let .woodbury(inverse): inverse.isRefreshed
        case .moving: preconditionFailure("a curvature inverse read while it is being changed")
        }
    }

    /// Stages a refresh of the form held, from statistics checked to be finite when they were
    /// accumulated: the Cholesky inverse of `gfim`, or Woodbury from the per-sample `factor`
    /// (scaled by its rank, the batch).
    mutating func stageRefresh(
        gfim: BlockDiagonalMatrix<Scalar>, factor: (rows: Matrix<Scalar>, rank: Int)?, damping: DampingRule
    ) throws(NGError) -> RefreshOutcome {
        var outcome = RefreshOutcome()
        try modify(
            cholesky: { (inverse) throws(NGError) in
                outcome.summary.include(try inverse.stageRefresh(fromFinite: gfim, damping: damping))
            },
            woodbury: { (inverse) throws(NGError) in
                guard let factor else { preconditionFailure("a Woodbury plan for a layer without a factor") }
                outcome.summary.include(try inverse.stageRefresh(
                    finiteFactors: factor.rows, rank: factor.rank, scale: Scalar(factor.rank), damping: damping))
            })
        return outcome
    }

    /// The record of a staged Cholesky refresh; nil for Woodbury, which every process makes
    /// from the gathered rows.
    var sharedRecordSize: (values: Int, figures: Int)? {
        guard case let .cholesky(inverse) = self else { return nil }
        return inverse.stagedRecordSize
    }

    /// `DampedInverse.writeStagedRecord`.
    mutating func writeStagedRecord(values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>) {
        modify(
            cholesky: { $0.writeStagedRecord(values: values, figures: figures) },
            woodbury: { _ in preconditionFailure("a Woodbury refresh is not sent") })
    }

    /// `DampedInverse.adoptStagedRecord`.
    mutating func adoptStagedRecord(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) -> RefreshSummary {
        modify(
            cholesky: { $0.adoptStagedRecord(values: values, figures: figures) },
            woodbury: { _ in preconditionFailure("a Woodbury refresh is not sent") })
    }

    /// Puts the staged refresh in use.
    mutating func commitStagedRefresh() {
        modify(cholesky: { $0.commitStagedRefresh() }, woodbury: { $0.commitStagedRefresh() })
    }

    /// `D = F̂⁻¹·G` or `G·F̂⁻¹` with the current or the staged inverse.
    mutating func apply(_ g: Matrix<Scalar>, side: Side, into d: inout Matrix<Scalar>, slot: InverseSlot) {
        modify(
            cholesky: { $0.applyUnchecked(g, side: side, into: &d, slot: slot) },
            woodbury: { $0.applyUnchecked(g, side: side, into: &d, slot: slot) })
    }

    /// `W = [X | 1]·F̂⁻¹` (or `X·F̂⁻¹`), the right-side fused apply of a dense layer.
    mutating func applyRight(
        toInputs x: Matrix<Scalar>, appendingOnes: Bool, into w: inout Matrix<Scalar>, slot: InverseSlot
    ) {
        modify(
            cholesky: { $0.applyRightUnchecked(toInputs: x, appendingOnes: appendingOnes, into: &w, slot: slot) },
            woodbury: { $0.applyRightUnchecked(toInputs: x, appendingOnes: appendingOnes, into: &w, slot: slot) })
    }
}

extension CurvatureInverse: StateCodable {
    func encode(to writer: inout StateWriter) {
        switch self {
        case let .cholesky(inverse): inverse.encode(to: &writer)
        case let .woodbury(inverse): inverse.encode(to: &writer)
        case .moving: preconditionFailure("a curvature inverse saved while it is being changed")
        }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        try modify(
            cholesky: { (inverse) throws(NGError) in try inverse.restore(from: &reader) },
            woodbury: { (inverse) throws(NGError) in try inverse.restore(from: &reader) })
    }
}
