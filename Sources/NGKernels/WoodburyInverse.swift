/// The damped inverse of a low-rank GFIM `F = c·UᵀU` (U r × m, r ≤ m), applied through the
/// Woodbury identity without ever forming an m × m matrix (docs/ALGORITHM.md §7):
///
///     (s·I + c·UᵀU)⁻¹·G = (1/s)·(G − c·Uᵀ·(s·I + c·U·Uᵀ)⁻¹·U·G)
///
/// The r × r capacitance matrix `C = s·I + c·UUᵀ` is factored by Cholesky at `refresh`, which
/// then keeps `V = C⁻¹·U` (C⁻¹ from that factor, `2·r³/3` flops, and one GEMM, `2·r²·m`, once
/// per refresh), so that `apply` is two GEMMs, `D = (1/s)·G − (c/s)·Vᵀ·(U·G)`: `4·m·n·r` flops
/// at the GEMM rate against `2·m²·n` for an explicit inverse, so it wins when r < m/2.
/// It is exact only for a GFIM that *is* `c·UᵀU`: a fresh per-sample GFIM (running average
/// α = 1), whose factor `LinearGFIMBuilder.scaledRows` gives with c = B.
///
/// Accuracy: the two terms subtracted are of size ‖G‖/s, so the forward error is of order
/// `u·κ(C)·‖G‖/s` (C the capacitance matrix) rather than the explicit inverse's
/// `u·κ(F̂)·‖F̂⁻¹G‖`. With a damping far below ‖F‖ this is markedly less accurate, in Float
/// above all; prefer `DampedInverse` there.
///
/// Damping, retries and failure behave as in `DampedInverse`: the shift comes from the rule
/// (for `clampedSquareRoot`, `max|F|` is the largest diagonal entry, exact for this PSD F), a
/// capacitance that does not factor goes down the same ladder (larger shifts from its own
/// scale, then Double for Float), and a refresh that throws leaves the previous state untouched.
public struct WoodburyInverse<Scalar: BLASScalar>: Sendable {
    /// m, the order of F.
    public let dimension: Int
    /// How many times a failed factorization is retried with a larger shift.
    public let maxRetries: Int
    /// The factor the shift grows by on each retry.
    public let retryGrowth: Double
    /// r, the rows of U in use (0 before the first refresh).
    @inlinable public var rank: Int { currentRank }
    /// What the last successful refresh used; nil before the first.
    @inlinable public var report: DampingReport? { reports.current }
    @usableFromInline var currentRank = 0
    @usableFromInline var reports = DampingReports()
    /// U, r × m.
    @usableFromInline var factors: Matrix<Scalar>
    /// V = C⁻¹·U, r × m.
    @usableFromInline var solvedFactors: Matrix<Scalar>
    /// A staged refresh (`stageRefresh`): U, V, rank, c, s and report, put in use by
    /// `commitStagedRefresh`.
    @usableFromInline var stagedFactors: Matrix<Scalar>
    @usableFromInline var stagedSolvedFactors: Matrix<Scalar>
    @usableFromInline var stagedRank = 0
    @usableFromInline var stagedScale: Scalar = 1
    @usableFromInline var stagedShift: Scalar = 1
    /// The Cholesky factor of C while a refresh runs.
    @usableFromInline var scratch: Matrix<Scalar>
    @usableFromInline var workspace: Matrix<Scalar>
    @usableFromInline var scale: Scalar = 1
    @usableFromInline var shift: Scalar = 1

    /// - Throws: `invalidArgument` for a dimension below 1, negative retries or a growth
    ///   factor not above 1.
    public init(dimension: Int, maxRetries: Int = 6, retryGrowth: Double = 10) throws(NGError) {
        KernelFitWarning.emitOnce()
        try NGError.Operation.woodburyInverseInit.require(
            dimension >= 1 && dimension <= Int(Int32.max), "dimension", "must be in 1...Int32.max, got \(dimension)")
        try NGError.Operation.woodburyInverseInit.require(
            maxRetries >= 0 && retryGrowth > 1 && retryGrowth.isFinite, "maxRetries/retryGrowth",
            "need maxRetries ≥ 0 and a finite retryGrowth > 1, got \(maxRetries), \(retryGrowth)")
        self.dimension = dimension
        self.maxRetries = maxRetries
        self.retryGrowth = retryGrowth
        self.factors = Matrix(rows: 0, columns: dimension)
        self.solvedFactors = factors
        self.stagedFactors = factors
        self.stagedSolvedFactors = factors
        self.scratch = Matrix(rows: 0, columns: 0)
        self.workspace = scratch
    }

    /// True once a refresh has succeeded.
    @inlinable public var isRefreshed: Bool { reports.current != nil }

    /// Takes `F = scale·UᵀU` from the first `rank` rows of `factors` (all rows when nil),
    /// copies them, and factors the damped capacitance matrix.
    /// - Throws: `emptyMatrix`, `shapeMismatch` (U must have `dimension` columns),
    ///   `invalidArgument` (rank outside 1...rows, scale not positive and finite),
    ///   `nonPositiveDamping`, `nonFinite`, `notPositiveDefinite`. Nothing changes on a throw.
    @inlinable @discardableResult
    public mutating func refresh(
        factors u: Matrix<Scalar>, rank: Int? = nil, scale: Scalar, damping: DampingRule
    ) throws(NGError) -> DampingReport {
        let report = try stageRefresh(factors: u, rank: rank, scale: scale, damping: damping)
        commitStagedRefresh()
        return report
    }

    /// The first half of `refresh`: the new factors aside, the current ones still in use, so
    /// that a step can compute with the new inverse and commit it only after its last check.
    /// Throws as `refresh` does; `commitStagedRefresh` puts a staged result in use.
    @inlinable @discardableResult
    public mutating func stageRefresh(
        factors u: Matrix<Scalar>, rank: Int? = nil, scale: Scalar, damping: DampingRule
    ) throws(NGError) -> DampingReport {
        reports.staged = nil
        let r = rank ?? u.rows
        if u.columns == dimension, r >= 1, r <= u.rows, !u.withView({ $0.rows(0..<r).isAllFinite }),
           let index = u.firstNonFiniteIndex() {
            throw .nonFinite(
                operation: .woodburyInverseRefresh, argument: "factors", row: index / dimension,
                column: index % dimension)
        }
        try stageRefresh(finiteFactors: u, rank: rank, scale: scale, damping: damping)
        return reports.staged ?? DampingReport()
    }

    /// `stageRefresh` of factors the caller has already checked to be finite: no second scan.
    @inlinable @discardableResult
    package mutating func stageRefresh(
        finiteFactors u: Matrix<Scalar>, rank: Int? = nil, scale: Scalar, damping: DampingRule
    ) throws(NGError) -> RefreshSummary {
        reports.staged = nil
        let operation = NGError.Operation.woodburyInverseRefresh
        try u.requireNonEmpty(operation, "factors")
        try u.requireShape(Shape(u.rows, dimension), operation, "factors")
        let r = rank ?? u.rows
        try operation.require(r >= 1 && r <= u.rows, "rank", "must be in 1...\(u.rows), got \(r)")
        try operation.require(scale > 0 && scale.isFinite, "scale", "must be positive and finite, got \(scale)")
        try damping.validate(operation)
        let m = dimension

        // max|F| of the PSD F = c·UᵀU is its largest diagonal entry, c·max_j Σ_i u_ij².
        var largestDiagonal = 0.0
        if damping.needsMaxAbsolute {
            largestDiagonal = u.withView { u -> Double in
                var largest = 0.0
                for j in 0..<m {
                    let column = u.rows(0..<r).columns(j..<j + 1)
                    largest = Swift.max(largest, Double(BLAS.dot(column, column)))
                }
                return largest * Double(scale)
            }
        }
        // tr(F)/m of F = c·UᵀU is c·‖U‖²/m, over the first r rows.
        var meanDiagonal = 0.0
        if damping.needsMeanDiagonal {
            meanDiagonal = u.withView { u -> Double in
                var total = 0.0
                for i in 0..<r {
                    let row = u.rows(i..<i + 1)
                    total += Double(BLAS.dot(row, row))
                }
                return total
            } * Double(scale) / Double(m)
        }
        let requested = damping.shift(maxAbsolute: largestDiagonal, meanDiagonal: meanDiagonal)
        try DampedInverse<Scalar>.requireRepresentable(shift: requested, operation)
        if scratch.rows != r { scratch = Matrix(rows: r, columns: r) }
        // The ladder's scale is the capacitance's own, c·max_i Σ_j u_ij², read after its first
        // product; a Float capacitance that fails every shift takes the Double rung.
        var capacitanceScale = 0.0
        var solvedInDouble: Matrix<Double>?
        var used = requested
        var attempt = 0
        var condition = Double.nan
        while true {
            var overflow: (row: Int, column: Int)?
            let info = u.withView { u in
                scratch.withMutableView { c -> Int in
                    BLAS.syrkInBands(u.rows(0..<r), alpha: scale, beta: 0, into: c)
                    overflow = Self.firstNonFiniteInLowerTriangle(c.readOnly)
                    if overflow != nil { return 0 }
                    if attempt == 0 { capacitanceScale = c.readOnly.largestDiagonal }
                    c.addToDiagonal(Scalar(used))
                    let factored = LAPACK.onFittingThreads(order: r) { LAPACK.potrf(c) }
                    if factored == 0 { condition = c.readOnly.choleskyConditionEstimate }
                    return factored
                }
            }
            // Finite factors whose products overflow: no shift can help, so say so at once.
            if let overflow {
                throw .nonFinite(
                    operation: operation, argument: "c·U·Uᵀ (the factors overflow)",
                    row: overflow.row, column: overflow.column)
            }
            if info == 0 { break }
            if info < 0 { throw .lapackFailure(operation: operation, routine: "potrf", info: info) }
            guard attempt < maxRetries else {
                let hasDoubleRung = Double(Scalar.ulpOfOne as Scalar) > Double.ulpOfOne
                if hasDoubleRung, let rung = Self.solveInDouble(
                    u, rank: r, scale: Double(scale), requested: requested, growth: retryGrowth, maxRetries: maxRetries
                ) {
                    (solvedInDouble, used, attempt, condition) = (rung.solved, rung.shift, rung.retries, rung.condition)
                    break
                }
                throw .notPositiveDefinite(
                    operation: operation, block: 0, order: info, lastShift: used,
                    attempts: (hasDoubleRung ? 2 : 1) * (attempt + 1))
            }
            attempt += 1
            used = ShiftLadder(
                requested: requested, growth: retryGrowth, scale: capacitanceScale, order: r,
                unitRoundoff: Double(Scalar.ulpOfOne as Scalar)
            ).shift(retry: attempt)
        }

        if stagedFactors.rows != r {
            stagedFactors = Matrix(rows: r, columns: m)
            stagedSolvedFactors = stagedFactors
        }
        var inverted = 0
        u.withView { u in
            let rows = u.rows(0..<r)
            stagedFactors.withMutableView { f in f.update(from: rows) }
            guard solvedInDouble == nil else { return }
            // V = C⁻¹·U with C⁻¹ made from its Cholesky factor (POTRI, r³/3 multiply-adds) and
            // applied as one GEMM on the workers: two triangular solves over U's m columns ran at
            // 62–70 GFLOP/s, the inverse and the GEMM in a third of their time (r = 128, m =
            // 3,137: 0.53 against 1.47–1.66 ms; Intel, 2 threads:
            // docs/measurements/woodbury-refresh-2026-12-08.md). The same error bound, of order
            // u·κ(C)·‖C⁻¹‖·‖U‖ either way.
            scratch.withMutableView { c in
                inverted = LAPACK.onFittingThreads(order: r) { LAPACK.potri(c) }
                if inverted == 0 { c.mirrorLowerTriangle() }
            }
            guard inverted == 0 else { return }
            scratch.withView { inverse in
                stagedSolvedFactors.withMutableView { v in BLAS.gemmOnWorkers(inverse, rows, into: v) }
            }
        }
        if inverted != 0 { throw .lapackFailure(operation: operation, routine: "potri", info: inverted) }
        if let solvedInDouble {
            stagedSolvedFactors = Matrix(rows: r, columns: m) { i, j in Scalar(solvedInDouble[i, j]) }
            if stagedSolvedFactors.firstNonFiniteIndex() != nil {
                throw .notPositiveDefinite(
                    operation: operation, block: 0, order: r, lastShift: used, attempts: 2 * (maxRetries + 1))
            }
        }
        stagedRank = r
        stagedScale = scale
        stagedShift = Scalar(used)
        var report = reports.startStaging()
        let inDouble = solvedInDouble != nil
        report.append(
            requestedShift: requested, usedShift: used, retries: attempt, inDouble: inDouble, conditionEstimate: condition)
        reports.staged = report
        var summary = RefreshSummary()
        summary.include(shift: used, retries: attempt, inDouble: inDouble, conditionEstimate: condition)
        return summary
    }

    /// The Double rung of a Float capacitance: `C = c·U·Uᵀ + s·I` of the first `r` rows of U
    /// factored in Double down the same ladder (from C's own scale, Double's roundoff), and
    /// `V = C⁻¹·U` solved there. Nil when no shift factors. Allocates (Double copies), as befits
    /// a rung reached only when Float has failed every shift.
    @inlinable
    static func solveInDouble(
        _ u: Matrix<Scalar>, rank r: Int, scale: Double, requested: Double, growth: Double, maxRetries: Int
    ) -> (solved: Matrix<Double>, shift: Double, retries: Int, condition: Double)? {
        let rows = Matrix<Double>(rows: r, columns: u.columns) { i, j in Double(u[i, j]) }
        var c = Matrix<Double>(rows: r, columns: r)
        var capacitanceScale = 0.0
        for retry in 0...maxRetries {
            let shift = ShiftLadder(
                requested: requested, growth: growth, scale: capacitanceScale, order: r, unitRoundoff: Double.ulpOfOne
            ).shift(retry: retry)
            let info = rows.withView { u in
                c.withMutableView { c -> Int in
                    BLAS.syrk(u, alpha: scale, beta: 0, into: c)
                    if retry == 0 { capacitanceScale = c.readOnly.largestDiagonal }
                    c.addToDiagonal(shift)
                    return LAPACK.potrf(c)
                }
            }
            guard info == 0 else { continue }
            var solved = rows
            c.withView { l in
                solved.withMutableView { v in
                    BLAS.trsm(.left, transpose: false, l, v)
                    BLAS.trsm(.left, transpose: true, l, v)
                }
            }
            return (solved, shift, retry, c.withView { $0.choleskyConditionEstimate })
        }
        return nil
    }

    /// Puts the result of the last successful `stageRefresh` in use.
    /// - Precondition: a staged result exists (a programmer error otherwise).
    @inlinable
    public mutating func commitStagedRefresh() {
        reports.commit()
        swap(&factors, &stagedFactors)
        swap(&solvedFactors, &stagedSolvedFactors)
        swap(&currentRank, &stagedRank)
        swap(&scale, &stagedScale)
        swap(&shift, &stagedShift)
    }

    /// The first NaN or infinity in the lower triangle of a square view (what SYRK wrote), or
    /// nil.
    @inlinable
    static func firstNonFiniteInLowerTriangle(_ c: MatrixView<Scalar>) -> (row: Int, column: Int)? {
        for i in 0..<c.rows where !c.rows(i..<i + 1).columns(0..<i + 1).isAllFinite {
            for j in 0...i where !c[i, j].isFinite { return (i, j) }
        }
        return nil
    }

    /// Runs `body` with U, V = C⁻¹·U of `slot` and the workspace, the buffers of every apply.
    @inlinable
    mutating func withApplyBuffers(
        _ slot: InverseSlot,
        _ body: (MatrixView<Scalar>, MatrixView<Scalar>, MutableMatrixView<Scalar>) -> Void
    ) {
        let (u, v) = slot == .current ? (factors, solvedFactors) : (stagedFactors, stagedSolvedFactors)
        u.withView { u in
            v.withView { v in
                workspace.withMutableView { t in body(u, v, t) }
            }
        }
    }

    /// `D = F̂⁻¹·G` (`side == .left`, G has `dimension` rows) or `D = G·F̂⁻¹` (G has
    /// `dimension` columns) into `d`, which must have G's shape. Allocates only when G's
    /// other dimension or the rank differs from the previous call (workspace r × n).
    /// - Throws: `notRefreshed`, `emptyMatrix`, `shapeMismatch`, `nonFinite`; `d` is
    ///   untouched on a throw.
    @inlinable
    public mutating func apply(
        _ g: Matrix<Scalar>, side: Side = .left, into d: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.woodburyInverseApply
        guard isRefreshed else { throw .notRefreshed(operation: operation) }
        try g.requireNonEmpty(operation, "G")
        let left = side == .left
        try g.requireShape(left ? Shape(dimension, g.columns) : Shape(g.rows, dimension), operation, "G")
        try d.requireShape(g.shape, operation, "D")
        try g.requireFinite(operation, "G")
        applyUnchecked(g, side: side, into: &d, slot: .current)
    }

    /// `apply` without its checks, with the current or the staged inverse: for callers that
    /// validated G and D at their own entry point.
    @inlinable
    package mutating func applyUnchecked(
        _ g: Matrix<Scalar>, side: Side, into d: inout Matrix<Scalar>, slot: InverseSlot
    ) {
        let left = side == .left
        let r = slot == .current ? currentRank : stagedRank
        let other = left ? g.columns : g.rows
        let workspaceShape = left ? Shape(r, other) : Shape(other, r)
        if workspace.shape != workspaceShape {
            workspace = Matrix(rows: workspaceShape.rows, columns: workspaceShape.columns)
        }
        let (c, s) = slot == .current ? (scale, shift) : (stagedScale, stagedShift)
        let (alpha, beta) = (-c / s, 1 / s)
        g.withView { g in
            d.withMutableView { d in
                withApplyBuffers(slot) { u, v, t in
                    d.update(from: g)
                    if left {
                        // T = U·G; D = (1/s)·G − (c/s)·Vᵀ·T
                        BLAS.gemmOnWorkers(u, g, into: t)
                        BLAS.gemmOnWorkers(v, transposeA: true, t.readOnly, alpha: alpha, beta: beta, into: d)
                    } else {
                        // T = G·Uᵀ; D = (1/s)·G − (c/s)·T·V
                        BLAS.gemmOnWorkers(g, u, transposeB: true, into: t)
                        BLAS.gemmOnWorkers(t.readOnly, v, alpha: alpha, beta: beta, into: d)
                    }
                }
            }
        }
    }
}
