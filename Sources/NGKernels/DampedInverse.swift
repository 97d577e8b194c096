/// How a damped inverse is kept and applied.
public enum InverseMethod: String, Sendable, Codable, CaseIterable {
    /// Cholesky factor then inverse (POTRF + POTRI): `F̂⁻¹` is stored (mirrored into a whole
    /// symmetric block) and applied by one GEMM per block, at the machine's GEMM rate. GEMM
    /// rather than SYMM: OpenBLAS runs a GEMM of fewer than 2¹⁸ multiply-adds on the calling
    /// thread, while its SYMM wakes every thread whatever the size (on a 256→10 layer the
    /// wake-up cost more than the product). The default.
    case explicitInverse
    /// Cholesky factor only (POTRF): `L` with `F̂ = L·Lᵀ` is stored and applied by two
    /// triangular solves (TRSM, or POTRS for the right side). Same flops, slower kernels,
    /// one rounding step fewer.
    case choleskySolve
}

/// The damped inverse `F̂⁻¹ = (F + s·I)⁻¹` of a symmetric positive semi-definite, block-diagonal
/// GFIM, computed by Cholesky in the matrix's own precision (or, failing that, in Double), and
/// its application to gradients.
///
/// `refresh` factors every block of `F + s·I`, with `s` from the `DampingRule` (per block).
/// When a block does not factor (POTRF reports a non-positive leading minor) or its inverse
/// is not finite, it goes down the failure ladder: at most `maxRetries` larger shifts
/// (`ShiftLadder`: ×`retryGrowth` each, never below `max|F|·order·ε`), then for Float the same
/// shifts in Double; what worked is in the returned `DampingReport`. If a block still fails,
/// `refresh` throws `notPositiveDefinite` and the previous inverse stays in place, untouched: a
/// failed refresh never leaves a half-updated or garbage inverse.
///
/// `apply` multiplies a gradient by the stored inverse into a caller's buffer without
/// allocating: `D = F̂⁻¹·G` (left) or `D = G·F̂⁻¹` (right).
public struct DampedInverse<Scalar: BLASScalar>: Sendable {
    /// The order of the GFIM.
    public let dimension: Int
    /// The order of its diagonal blocks.
    public let blockSize: Int
    /// What is stored and how it is applied.
    public let method: InverseMethod
    /// How many times a failed block is retried with a larger shift.
    public let maxRetries: Int
    /// The factor the shift grows by on each retry.
    public let retryGrowth: Double
    /// What the last successful refresh used; nil before the first.
    @inlinable public var report: DampingReport? { reports.current }
    @usableFromInline var storedBlocks: BlockDiagonalMatrix<Scalar>
    @usableFromInline var reports = DampingReports()
    @usableFromInline var scratch: BlockDiagonalMatrix<Scalar>

    /// An inverse of order `dimension` in blocks of `blockSize`, not yet refreshed.
    /// - Throws: `invalidArgument` for a dimension or block size below 1, negative retries or
    ///   a growth factor not above 1.
    public init(
        dimension: Int, blockSize: Int = 1024, method: InverseMethod = .explicitInverse,
        maxRetries: Int = 6, retryGrowth: Double = 10
    ) throws(NGError) {
        KernelFitWarning.emitOnce()
        try NGError.Operation.dampedInverseInit.require(
            maxRetries >= 0, "maxRetries", "must be non-negative, got \(maxRetries)")
        try NGError.Operation.dampedInverseInit.require(
            retryGrowth > 1 && retryGrowth.isFinite, "retryGrowth", "must be finite and above 1, got \(retryGrowth)")
        self.storedBlocks = try BlockDiagonalMatrix(dimension: dimension, blockSize: blockSize)
        self.scratch = storedBlocks
        self.dimension = dimension
        self.blockSize = storedBlocks.blockSize
        self.method = method
        self.maxRetries = maxRetries
        self.retryGrowth = retryGrowth
    }

    /// True once a refresh has succeeded.
    @inlinable public var isRefreshed: Bool { reports.current != nil }

    /// What is stored, as one dense matrix of order `dimension`: `F̂⁻¹` (symmetric) for
    /// `explicitInverse`, L (zero above the diagonal) for `choleskySolve`, zero off the
    /// diagonal blocks. Internally a factor block keeps a copy of F above its diagonal; this
    /// clears it, for inspection and tests (it allocates).
    public func denseMatrix() -> Matrix<Scalar> {
        var result = storedBlocks
        for b in result.blocks.indices {
            let order = result.blocks[b].rows
            let method = self.method
            result.blocks[b].withUnsafeMutableBufferPointer { p in
                for i in 0..<order {
                    for j in (i + 1)..<Swift.max(order, i + 1) {
                        p[i * order + j] = method == .explicitInverse ? p[j * order + i] : 0
                    }
                }
            }
        }
        return result.dense()
    }

    /// Factors (and for `explicitInverse` inverts) every block of `F + s·I`.
    /// - Throws: `shapeMismatch` when F's order or block size differs from this inverse's,
    ///   `nonFinite` for a NaN or infinity in F, `nonPositiveDamping` for λ ≤ 0,
    ///   `notPositiveDefinite` when a block fails every retry. Nothing changes on a throw.
    @inlinable @discardableResult
    public mutating func refresh(
        from gfim: BlockDiagonalMatrix<Scalar>, damping: DampingRule
    ) throws(NGError) -> DampingReport {
        let report = try stageRefresh(from: gfim, damping: damping)
        commitStagedRefresh()
        return report
    }

    /// The first half of `refresh`: computes the new factor or inverse aside, leaving the
    /// current one in use, so that several inverses can be refreshed all-or-nothing. Throws
    /// as `refresh` does; `commitStagedRefresh` puts a staged result in use.
    @inlinable @discardableResult
    public mutating func stageRefresh(
        from gfim: BlockDiagonalMatrix<Scalar>, damping: DampingRule
    ) throws(NGError) -> DampingReport {
        reports.staged = nil
        if gfim.dimension == dimension, gfim.blockSize == blockSize {
            try gfim.requireFinite(.dampedInverseRefresh, "GFIM")
        }
        try stageRefresh(fromFinite: gfim, damping: damping)
        return reports.staged ?? DampingReport()
    }

    /// `stageRefresh` of a GFIM the caller has already checked to be finite (the optimizers
    /// check their statistics when they accumulate them): no second scan.
    @inlinable @discardableResult
    package mutating func stageRefresh(
        fromFinite gfim: BlockDiagonalMatrix<Scalar>, damping: DampingRule
    ) throws(NGError) -> RefreshSummary {
        var report = reports.startStaging()
        var summary = RefreshSummary()
        let operation = NGError.Operation.dampedInverseRefresh
        guard gfim.dimension == dimension, gfim.blockSize == blockSize else {
            throw .shapeMismatch(
                operation: operation, argument: "GFIM (order × block size)",
                expected: Shape(dimension, blockSize), actual: Shape(gfim.dimension, gfim.blockSize))
        }
        try damping.validate(operation)

        for b in gfim.blocks.indices {
            let largest = damping.needsMaxAbsolute ? Double(gfim.blocks[b].maxAbsolute()) : 0
            let mean = damping.needsMeanDiagonal ? gfim.blocks[b].meanDiagonal() : 0
            let requested = damping.shift(maxAbsolute: largest, meanDiagonal: mean)
            try Self.requireRepresentable(shift: requested, operation)
            let rung = try factorBlockOnLadder(b, of: gfim, requested: requested, operation)
            report.append(
                requestedShift: requested, usedShift: rung.shift, retries: rung.retries, inDouble: rung.inDouble,
                conditionEstimate: rung.condition)
            summary.include(
                shift: rung.shift, retries: rung.retries, inDouble: rung.inDouble, conditionEstimate: rung.condition)
        }
        reports.staged = report
        return summary
    }

    /// Throws `invalidArgument` when a damping's diagonal shift underflows in `Scalar` (below
    /// its smallest normal number: λ = 1e-80 in Float, say): the matrix would be undamped.
    @inlinable
    static func requireRepresentable(shift: Double, _ operation: NGError.Operation) throws(NGError) {
        try operation.require(
            Scalar(shift) >= Scalar.leastNormalMagnitude, "damping",
            "gives a diagonal shift of \(shift), which underflows in \(Scalar.self)")
    }

    /// Puts the result of the last successful `stageRefresh` in use.
    /// - Precondition: a staged result exists (a programmer error otherwise).
    @inlinable
    public mutating func commitStagedRefresh() {
        reports.commit()
        swap(&storedBlocks, &scratch)
    }

    /// Factors block `b` of `gfim` down the failure ladder: the requested shift, then the
    /// retries of `ShiftLadder` in the block's own precision, then — for a Float inverse — the
    /// same ladder in Double. Returns the rung that worked.
    /// - Throws: `notPositiveDefinite` when every rung failed, `lapackFailure` for a rejected
    ///   argument; the inverse in use is untouched either way.
    @inlinable
    mutating func factorBlockOnLadder(
        _ b: Int, of gfim: BlockDiagonalMatrix<Scalar>, requested: Double, _ operation: NGError.Operation
    ) throws(NGError) -> (shift: Double, retries: Int, inDouble: Bool, condition: Double) {
        let order = gfim.blocks[b].rows
        // The ladder's scale, read only when a retry needs it (the first attempt usually factors).
        var scale: Double?
        var lastFailure = (order: 0, shift: requested)
        // Two precisions for a Float inverse (its own, then Double), one for a Double one.
        let precisions = Double(Scalar.ulpOfOne as Scalar) > Double.ulpOfOne ? 2 : 1
        for precision in 0..<precisions {
            let inDouble = precision == 1
            for retry in 0...maxRetries {
                if retry > 0, scale == nil { scale = gfim.blocks[b].withView { $0.largestDiagonal } }
                let shift = ShiftLadder(
                    requested: requested, growth: retryGrowth, scale: scale ?? 0, order: order,
                    unitRoundoff: inDouble ? Double.ulpOfOne : Double(Scalar.ulpOfOne)
                ).shift(retry: retry)
                let (failedOrder, condition) = inDouble
                    ? factorBlockInDouble(b, of: gfim, shift: shift) : factorBlock(b, of: gfim, shift: shift)
                if failedOrder == 0 { return (shift, retry, inDouble, condition) }
                if failedOrder < 0 {
                    throw .lapackFailure(operation: operation, routine: "potrf/potri", info: failedOrder)
                }
                lastFailure = (failedOrder, shift)
            }
        }
        throw .notPositiveDefinite(
            operation: operation, block: b, order: lastFailure.order, lastShift: lastFailure.shift,
            attempts: precisions * (maxRetries + 1))
    }

    /// Writes the factor of block `b` of `gfim + shift·I` into the lower triangle of its
    /// `scratch` block (the strict upper triangle keeps a copy of F: no pass is spent on it),
    /// or its inverse into the whole block.
    /// Returns 0 on success, the order of the failing leading minor (or the block order when
    /// the inverse is not finite), or LAPACK's negative `info` for a rejected argument; and
    /// the factor's condition estimate.
    @inlinable
    mutating func factorBlock(
        _ b: Int, of gfim: BlockDiagonalMatrix<Scalar>, shift: Double
    ) -> (failedOrder: Int, condition: Double) {
        let order = gfim.blocks[b].rows
        let method = self.method
        let (info, condition) = gfim.blocks[b].withView { source in
            scratch.blocks[b].withMutableView { a in
                a.update(from: source)
                return Self.factorInPlace(a, shift: shift, method: method)
            }
        }
        if info != 0 { return (info, condition) }
        return (scratch.blocks[b].firstNonFiniteIndex() == nil ? 0 : order, condition)
    }

    /// `a + shift·I` factored in place (POTRF), and for `explicitInverse` inverted (POTRI, then
    /// mirrored into the whole block): LAPACK's `info` and the factor's condition estimate, on
    /// the threads that suit the order (`LAPACK.onFittingThreads`).
    @inlinable
    static func factorInPlace<T: BLASScalar>(
        _ a: MutableMatrixView<T>, shift: Double, method: InverseMethod
    ) -> (info: Int, condition: Double) {
        LAPACK.onFittingThreads(order: a.rows) { factor(a, shift: shift, method: method) }
    }

    /// `factorInPlace` on OpenBLAS's threads as they are.
    @inlinable
    static func factor<T: BLASScalar>(
        _ a: MutableMatrixView<T>, shift: Double, method: InverseMethod
    ) -> (info: Int, condition: Double) {
        a.addToDiagonal(T(shift))
        let factored = LAPACK.potrf(a)
        if factored != 0 { return (factored, .nan) }
        let condition = a.readOnly.choleskyConditionEstimate
        guard method == .explicitInverse else { return (0, condition) }
        let inverted = LAPACK.potri(a)
        // The whole symmetric inverse, so that applies are GEMMs (see `apply`).
        if inverted == 0 { a.mirrorLowerTriangle() }
        return (inverted, condition)
    }

    /// `factorBlock` computed in Double and rounded into the block's precision: the Double rung
    /// of a Float inverse. Allocates (a Double copy of the block), as befits a rung reached only
    /// when Float has failed every shift. Fails with the block order when the result is not
    /// finite in the block's precision.
    @inlinable
    mutating func factorBlockInDouble(
        _ b: Int, of gfim: BlockDiagonalMatrix<Scalar>, shift: Double
    ) -> (failedOrder: Int, condition: Double) {
        let source = gfim.blocks[b]
        let order = source.rows
        var a = Matrix<Double>(rows: order, columns: order) { i, j in Double(source[i, j]) }
        let method = self.method
        let (info, condition) = a.withMutableView { Self.factorInPlace($0, shift: shift, method: method) }
        if info != 0 { return (info, condition) }
        scratch.blocks[b] = Matrix(rows: order, columns: order) { i, j in Scalar(a[i, j]) }
        return (scratch.blocks[b].firstNonFiniteIndex() == nil ? 0 : order, condition)
    }
}
