/// The curvature of an embedding table (docs/ALGORITHM.md §2a, the authors' embedding path), a
/// `CurvatureBlock`: the right-side GFIM `F = L·dYᵀ·dY` (width × width, in diagonal blocks)
/// from the `L` output-gradient rows of a step's lookups — each lookup a sample whose gradient
/// `L·e_i·dyᵀ` touches one row — averaged as `F ← (1−α)·F + α·F_new`; its damped inverse is
/// applied to the looked-up rows only, `D_rows = G_rows·F̂⁻¹`. It is K-FAC's output factor
/// too: with `.rowFrequencies`, K-FAC's input factor of one-hot lookups, the diagonal of row
/// frequencies `a_i` (lookups of row i over L), scales each row by `(a_i + s)⁻¹`.
///
/// The statistics arrive with the step (the output gradients are the step's input), so they
/// are staged with it and committed only when the whole step commits. Cost per step: the
/// apply `2·width²·U` for U distinct rows; per statistics step `2·width²·L`; per refresh
/// `width³`; never the vocabulary.
/// The factor on the lookups' side of an embedding table's curvature.
public enum EmbeddingInputFactor: Sendable, Equatable {
    /// None: NG+'s right-side GFIM alone.
    case identity
    /// K-FAC's diagonal of row frequencies.
    case rowFrequencies
}

struct EmbeddingCurvature<Scalar: BLASScalar>: SharedRefreshBlock, SingleInverseBlock {
    /// F, and the next F while a statistics step is checked.
    var gfim: Staged<BlockDiagonalMatrix<Scalar>>
    var inverse: DampedInverse<Scalar>
    /// True once statistics have been committed.
    var hasStatistics = false
    /// True while this step's statistics are staged.
    var statisticsStaged = false
    /// K-FAC's diagonal input factor, or nil for NG+.
    var frequencies: RowFrequencies<Scalar>?

    init(
        vocabulary: Int, width: Int, blockSize: Int, method: InverseMethod, inputFactor: EmbeddingInputFactor,
        runningAverage: Double, maxRetries: Int
    ) throws(NGError) {
        gfim = Staged(try BlockDiagonalMatrix(dimension: width, blockSize: min(blockSize, width)))
        inverse = try DampedInverse(
            dimension: width, blockSize: gfim.current.blockSize, method: method, maxRetries: maxRetries)
        switch inputFactor {
        case .identity: frequencies = nil
        case .rowFrequencies: frequencies = RowFrequencies(vocabulary: vocabulary, runningAverage: runningAverage)
        }
    }

    /// Stages `F ← (1−α)·F + α·L·dYᵀ·dY` from validated output gradients (α = 1 the first
    /// time), and the row frequencies of `touched`.
    /// - Throws: `nonFinite` when finite gradients overflow the statistics; nothing changes.
    mutating func stageStatistics(
        outputGradients dy: Matrix<Scalar>, touched: TouchedRows, runningAverage: Scalar, _ operation: NGError.Operation
    ) throws(NGError) {
        let weight = hasStatistics ? runningAverage : 1
        try gfim.prepareAverage(weight: weight)
        let lookups = Scalar(dy.rows)
        dy.withView { dy in
            GFIM.accumulateGram(dy, overColumns: true, alpha: weight * lookups, beta: 1 - weight, into: &gfim.staged)
        }
        try gfim.staged.requireFinite(operation, "statistics (finite inputs whose products overflow)")
        frequencies?.stage(touched, lookups: dy.rows, first: !hasStatistics)
        statisticsStaged = true
    }

    /// Puts staged statistics in use (the step passed its last check), with the frequencies of
    /// the rows it touched.
    mutating func commitStatistics(_ touched: TouchedRows) {
        guard statisticsStaged else { return }
        gfim.commit()
        frequencies?.commit(touched)
        hasStatistics = true
        statisticsStaged = false
    }

    /// Drops staged statistics (the step threw).
    mutating func discardStagedStatistics() {
        statisticsStaged = false
    }

    /// The refresh from the statistics the step will commit: this step's when it has any.
    mutating func withInverse<Result>(_ body: (inout Inverse) -> Result) -> Result { body(&inverse) }

    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome {
        var outcome = RefreshOutcome()
        outcome.summary.include(try inverse.stageRefresh(fromFinite: statisticsStaged ? gfim.staged : gfim.current, damping: damping))
        return outcome
    }

    /// `D_rows = diag(a + s)⁻¹·G_rows·F̂⁻¹` on the first `touched.count` rows: G in
    /// `gradientRows`, D into `direction`; the frequency scaling only with `frequencies`, with
    /// its shift `frequencyShift` (the damping's shift of a zero factor, `s = √λ` for K-FAC).
    func applyToRows(
        _ gradientRows: Matrix<Scalar>, touched: TouchedRows, into direction: inout Matrix<Scalar>, slot: InverseSlot,
        frequencyShift: Scalar
    ) {
        let count = touched.count
        gradientRows.withView { g in
            direction.withMutableView { d in
                inverse.applyUnchecked(g.rows(0..<count), side: .right, into: d.rows(0..<count), slot: slot)
                guard let frequencies else { return }
                for k in 0..<count {
                    let a = frequencies.value(ofTouched: k, row: touched.rows[k], staged: statisticsStaged)
                    BLAS.scal(1 / (a + frequencyShift), d.rows(k..<k + 1))
                }
            }
        }
    }
}

extension EmbeddingCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(hasStatistics)
        gfim.current.encode(to: &writer)
        inverse.encode(to: &writer)
        frequencies?.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        hasStatistics = try reader.readBool()
        try gfim.current.restore(from: &reader)
        try inverse.restore(from: &reader)
        try frequencies?.restore(from: &reader)
    }
}
