/// Applying a damped inverse: to a gradient from either side, and to a dense layer's inputs
/// (the right-side fused apply).
extension DampedInverse {
    /// `D = F̂⁻¹·G` (`side == .left`, G has `dimension` rows) or `D = G·F̂⁻¹` (G has
    /// `dimension` columns), into `d`, which must have G's shape. Allocates nothing.
    /// - Throws: `notRefreshed`, `emptyMatrix`, `shapeMismatch`, `nonFinite` (in G); `d` is
    ///   untouched on a throw.
    @inlinable
    public func apply(
        _ g: Matrix<Scalar>, side: Side = .left, into d: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.dampedInverseApply
        guard isRefreshed else { throw .notRefreshed(operation: operation) }
        try g.requireNonEmpty(operation, "G")
        switch side {
        case .left: try g.requireShape(Shape(dimension, g.columns), operation, "G")
        case .right: try g.requireShape(Shape(g.rows, dimension), operation, "G")
        }
        try d.requireShape(g.shape, operation, "D")
        try g.requireFinite(operation, "G")
        applyUnchecked(g, side: side, into: &d, slot: .current)
    }

    /// `apply` without its checks, with the current or the staged inverse: for callers that
    /// validated G and D at their own entry point.
    /// - Precondition: the slot holds a refreshed inverse.
    @inlinable
    package func applyUnchecked(
        _ g: Matrix<Scalar>, side: Side, into d: inout Matrix<Scalar>, slot: InverseSlot
    ) {
        g.withView { g in d.withMutableView { d in applyUnchecked(g, side: side, into: d, slot: slot) } }
    }

    /// `applyUnchecked` on views: G and D of one shape, D not overlapping G (the looked-up rows
    /// of an embedding table, gathered into the first rows of a workspace).
    @inlinable
    package func applyUnchecked(
        _ g: MatrixView<Scalar>, side: Side, into d: MutableMatrixView<Scalar>, slot: InverseSlot
    ) {
        precondition(slot == .current ? isRefreshed : reports.staged != nil, "apply of an inverse never refreshed")
        let method = self.method
        let inverse = slot == .current ? storedBlocks : scratch
        if method == .choleskySolve { d.update(from: g) }
        for b in inverse.blocks.indices {
            let range = inverse.blockRange(b)
            inverse.blocks[b].withView { f in
                switch (method, side) {
                case (.explicitInverse, .left):
                    BLAS.gemmOnWorkers(f, g.rows(range), into: d.rows(range))
                case (.explicitInverse, .right):
                    BLAS.gemmOnWorkers(g.columns(range), f, into: d.columns(range))
                case (.choleskySolve, .left):
                    BLAS.trsm(.left, transpose: false, f, d.rows(range))
                    BLAS.trsm(.left, transpose: true, f, d.rows(range))
                case (.choleskySolve, .right):
                    let info = LAPACK.potrs(f, d.columns(range))
                    precondition(info == 0, "potrs rejected validated arguments")
                }
            }
        }
    }

    /// `W = [X | 1]·F̂⁻¹` (`appendingOnes`) or `W = X·F̂⁻¹`, without forming `[X | 1]`: the
    /// right-side fused apply of a dense layer (docs/ALGORITHM.md §6), whose preconditioned
    /// gradient is then `dYᵀ·W`. X is B × n with n + 1 (or n) = `dimension`; W is B ×
    /// `dimension`. For the explicit inverse, each block is one GEMM (by whole rows of the
    /// block, docs/OPENBLAS.md), plus for the block that holds the bias its bias row added to
    /// every row (one rank-1 GEMM); Cholesky solves copy `[X | 1]` into W and solve in place (as
    /// `apply` does). Allocates nothing.
    /// - Throws: `notRefreshed`, `emptyMatrix`, `shapeMismatch`, `nonFinite` (in X); `w` is
    ///   untouched on a throw.
    @inlinable
    public func applyRight(
        toInputs x: Matrix<Scalar>, appendingOnes: Bool, into w: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.dampedInverseApplyRight
        guard isRefreshed else { throw .notRefreshed(operation: operation) }
        try x.requireNonEmpty(operation, "X")
        let extra = appendingOnes ? 1 : 0
        try x.requireShape(Shape(x.rows, dimension - extra), operation, "X")
        try w.requireShape(Shape(x.rows, dimension), operation, "W")
        try x.requireFinite(operation, "X")
        applyRightUnchecked(toInputs: x, appendingOnes: appendingOnes, into: &w, slot: .current)
    }

    /// `applyRight` without its checks, with the current or the staged inverse.
    /// - Precondition: the slot holds a refreshed inverse.
    @inlinable
    package func applyRightUnchecked(
        toInputs x: Matrix<Scalar>, appendingOnes: Bool, into w: inout Matrix<Scalar>, slot: InverseSlot
    ) {
        precondition(slot == .current ? isRefreshed : reports.staged != nil, "apply of an inverse never refreshed")
        let (n, width) = (x.columns, dimension)
        let method = self.method
        let inverse = slot == .current ? storedBlocks : scratch
        x.withView { x in
            w.withMutableView { w in
                if method == .choleskySolve {
                    w.columns(0..<n).update(from: x)
                    if appendingOnes { w.columns(n..<width).fill(with: 1) }
                }
                for b in inverse.blocks.indices {
                    let range = inverse.blockRange(b)
                    inverse.blocks[b].withView { f in
                        if method == .choleskySolve {
                            let info = LAPACK.potrs(f, w.columns(range))
                            precondition(info == 0, "potrs rejected validated arguments")
                            return
                        }
                        // The inputs this block covers; the bias, if here, is its last index q.
                        // W's columns of the block are X's inputs times the block's first q rows
                        // (all its columns: the bias column too, the block being symmetric),
                        // plus row q — F̂⁻¹[bias, block] — once for the column of ones.
                        let holdsBias = appendingOnes && range.upperBound == width
                        let q = holdsBias ? range.count - 1 : range.count
                        let inputs = range.lowerBound..<range.lowerBound + q
                        if q > 0 {
                            BLAS.gemmOnWorkers(x.columns(inputs), f.rows(0..<q), into: w.columns(range))
                        } else {
                            w.columns(range).fill(with: 0)
                        }
                        guard holdsBias else { return }
                        BLAS.addToEveryRow(f.rows(q..<q + 1), of: w.columns(range))
                    }
                }
            }
        }
    }
}
