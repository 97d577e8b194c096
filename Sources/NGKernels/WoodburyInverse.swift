/// The damped inverse of a low-rank GFIM `F = c·UᵀU` (U r × m, r ≤ m), applied through the
/// Woodbury identity without ever forming an m × m matrix (ALGORITHM.md §7):
///
///     (s·I + c·UᵀU)⁻¹·G = (1/s)·(G − c·Uᵀ·(s·I + c·U·Uᵀ)⁻¹·U·G)
///
/// The r × r capacitance matrix `s·I + c·UUᵀ` is factored by Cholesky at `refresh`; `apply`
/// costs `4·m·n·r` flops against `2·m²·n` for an explicit inverse, so it wins when r < m/2.
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
/// capacitance that does not factor is retried with a larger shift, and a refresh that
/// throws leaves the previous state untouched.
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
    @inlinable public var report: DampingReport? { lastReport }
    @usableFromInline var currentRank = 0
    @usableFromInline var lastReport: DampingReport?
    /// The storage of an earlier report, reused so that a refresh allocates nothing.
    @usableFromInline var spareReport = DampingReport()
    @usableFromInline var factors: Matrix<Scalar>
    @usableFromInline var capacitance: Matrix<Scalar>
    @usableFromInline var scratch: Matrix<Scalar>
    @usableFromInline var workspace: Matrix<Scalar>
    @usableFromInline var scale: Scalar = 1
    @usableFromInline var shift: Scalar = 1

    /// - Throws: `invalidArgument` for a dimension below 1, negative retries or a growth
    ///   factor not above 1.
    public init(dimension: Int, maxRetries: Int = 6, retryGrowth: Double = 10) throws(NGError) {
        guard dimension >= 1, dimension <= Int(Int32.max) else {
            throw .invalidArgument(
                operation: "WoodburyInverse.init", argument: "dimension",
                reason: "must be in 1...Int32.max, got \(dimension)")
        }
        guard maxRetries >= 0, retryGrowth > 1, retryGrowth.isFinite else {
            throw .invalidArgument(
                operation: "WoodburyInverse.init", argument: "maxRetries/retryGrowth",
                reason: "need maxRetries ≥ 0 and a finite retryGrowth > 1, got \(maxRetries), \(retryGrowth)")
        }
        self.dimension = dimension
        self.maxRetries = maxRetries
        self.retryGrowth = retryGrowth
        self.factors = Matrix(rows: 0, columns: dimension)
        self.capacitance = Matrix(rows: 0, columns: 0)
        self.scratch = capacitance
        self.workspace = capacitance
    }

    /// True once a refresh has succeeded.
    @inlinable public var isRefreshed: Bool { lastReport != nil }

    /// Takes `F = scale·UᵀU` from the first `rank` rows of `factors` (all rows when nil),
    /// copies them, and factors the damped capacitance matrix.
    /// - Throws: `emptyMatrix`, `shapeMismatch` (U must have `dimension` columns),
    ///   `invalidArgument` (rank outside 1...rows, scale not positive and finite),
    ///   `nonPositiveDamping`, `nonFinite`, `notPositiveDefinite`. Nothing changes on a throw.
    @inlinable @discardableResult
    public mutating func refresh(
        factors u: Matrix<Scalar>, rank: Int? = nil, scale: Scalar, damping: DampingRule
    ) throws(NGError) -> DampingReport {
        let operation = "WoodburyInverse.refresh"
        try u.requireNonEmpty(operation, "factors")
        try u.requireShape(Shape(u.rows, dimension), operation, "factors")
        let r = rank ?? u.rows
        guard r >= 1, r <= u.rows else {
            throw .invalidArgument(
                operation: operation, argument: "rank", reason: "must be in 1...\(u.rows), got \(r)")
        }
        guard scale > 0, scale.isFinite else {
            throw .invalidArgument(
                operation: operation, argument: "scale", reason: "must be positive and finite, got \(scale)")
        }
        try damping.validate(operation)
        let m = dimension
        let allFinite = u.withUnsafeBufferPointer { pu in Scalar.allFinite(pu.baseAddress!, count: r * m) }
        if !allFinite, let index = u.firstNonFiniteIndex() {
            throw .nonFinite(operation: operation, argument: "factors", row: index / m, column: index % m)
        }

        // max|F| of the PSD F = c·UᵀU is its largest diagonal entry, c·max_j Σ_i u_ij².
        var largestDiagonal = 0.0
        if damping.needsMaxAbsolute {
            largestDiagonal = u.withUnsafeBufferPointer { pu -> Double in
                var largest = 0.0
                for j in 0..<m {
                    largest = Swift.max(largest, Double(Scalar.dot(
                        n: r, x: pu.baseAddress! + j, incx: m, y: pu.baseAddress! + j, incy: m)))
                }
                return largest * Double(scale)
            }
        }
        let requested = damping.shift(maxAbsolute: largestDiagonal)
        if scratch.rows != r { scratch = Matrix(rows: r, columns: r) }
        var used = requested
        var attempt = 0
        while true {
            let info = u.withUnsafeBufferPointer { pu in
                scratch.withUnsafeMutableBufferPointer { pc -> Int in
                    let c = pc.baseAddress!
                    Scalar.syrk(
                        transpose: false, n: r, k: m, alpha: scale, a: pu.baseAddress!, lda: m,
                        beta: 0, c: c, ldc: r)
                    for i in 0..<r { c[i * r + i] += Scalar(used) }
                    return Scalar.potrf(n: r, a: c, lda: r)
                }
            }
            if info == 0 { break }
            if info < 0 { throw .lapackFailure(operation: operation, routine: "potrf", info: info) }
            guard attempt < maxRetries else {
                throw .notPositiveDefinite(
                    operation: operation, block: 0, order: info, lastShift: used, attempts: attempt + 1)
            }
            attempt += 1
            used *= retryGrowth
        }

        if factors.rows != r { factors = Matrix(rows: r, columns: m) }
        u.withUnsafeBufferPointer { pu in
            factors.withUnsafeMutableBufferPointer { pf in
                pf.baseAddress!.update(from: pu.baseAddress!, count: r * m)
            }
        }
        swap(&capacitance, &scratch)
        currentRank = r
        self.scale = scale
        shift = Scalar(used)
        var report = DampingReport()
        swap(&report, &spareReport)
        report.removeAll()
        report.append(requestedShift: requested, usedShift: used, retries: attempt)
        spareReport = lastReport ?? DampingReport()
        lastReport = report
        return report
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
        let operation = "WoodburyInverse.apply"
        guard isRefreshed else { throw .notRefreshed(operation: operation) }
        try g.requireNonEmpty(operation, "G")
        let left = side == .left
        try g.requireShape(left ? Shape(dimension, g.columns) : Shape(g.rows, dimension), operation, "G")
        try d.requireShape(g.shape, operation, "D")
        try g.requireFinite(operation, "G")

        let (m, r) = (dimension, currentRank)
        let other = left ? g.columns : g.rows
        let workspaceShape = left ? Shape(r, other) : Shape(other, r)
        if workspace.shape != workspaceShape {
            workspace = Matrix(rows: workspaceShape.rows, columns: workspaceShape.columns)
        }
        let (alpha, beta) = (-scale / shift, 1 / shift)
        g.withUnsafeBufferPointer { pg in
            d.withUnsafeMutableBufferPointer { pd in
                factors.withUnsafeBufferPointer { pu in
                    capacitance.withUnsafeBufferPointer { pl in
                        workspace.withUnsafeMutableBufferPointer { pt in
                            let (gp, dp, u, l, t) = (pg.baseAddress!, pd.baseAddress!,
                                                     pu.baseAddress!, pl.baseAddress!, pt.baseAddress!)
                            dp.update(from: gp, count: m * other)
                            if left {
                                // T = U·G; T ← C⁻¹·T; D = (1/s)·G − (c/s)·Uᵀ·T
                                Scalar.gemm(transposeA: false, transposeB: false, m: r, n: other, k: m,
                                            alpha: 1, a: u, lda: m, b: gp, ldb: other,
                                            beta: 0, c: t, ldc: other)
                                Scalar.trsm(left: true, transpose: false, m: r, n: other, alpha: 1,
                                            a: l, lda: r, b: t, ldb: other)
                                Scalar.trsm(left: true, transpose: true, m: r, n: other, alpha: 1,
                                            a: l, lda: r, b: t, ldb: other)
                                Scalar.gemm(transposeA: true, transposeB: false, m: m, n: other, k: r,
                                            alpha: alpha, a: u, lda: m, b: t, ldb: other,
                                            beta: beta, c: dp, ldc: other)
                            } else {
                                // T = G·Uᵀ; T ← T·C⁻¹; D = (1/s)·G − (c/s)·T·U
                                Scalar.gemm(transposeA: false, transposeB: true, m: other, n: r, k: m,
                                            alpha: 1, a: gp, lda: m, b: u, ldb: m,
                                            beta: 0, c: t, ldc: r)
                                Scalar.trsm(left: false, transpose: true, m: other, n: r, alpha: 1,
                                            a: l, lda: r, b: t, ldb: r)
                                Scalar.trsm(left: false, transpose: false, m: other, n: r, alpha: 1,
                                            a: l, lda: r, b: t, ldb: r)
                                Scalar.gemm(transposeA: false, transposeB: false, m: other, n: m, k: r,
                                            alpha: alpha, a: t, lda: r, b: u, ldb: m,
                                            beta: beta, c: dp, ldc: m)
                            }
                        }
                    }
                }
            }
        }
    }
}
