extension WoodburyInverse {
    /// `W = [X | 1]·F̂⁻¹` (`appendingOnes`) or `W = X·F̂⁻¹` for a right-side GFIM of order
    /// n + 1 (or n), without forming `[X | 1]·Uᵀ` from a copy: the right-side fused apply of a
    /// dense layer (docs/ALGORITHM.md §6), `4·B·r·dimension` flops. X is B × n; W is B × `dimension`.
    /// W starts as `[X | 1]`, the `(1/s)·[X | 1]` term that the last GEMM scales in place.
    /// Allocates only when B or the rank differs from the previous call (workspace B × r).
    /// - Throws: `notRefreshed`, `emptyMatrix`, `shapeMismatch`, `nonFinite` (in X); `w` is
    ///   untouched on a throw.
    @inlinable
    public mutating func applyRight(
        toInputs x: Matrix<Scalar>, appendingOnes: Bool, into w: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.woodburyInverseApplyRight
        guard isRefreshed else { throw .notRefreshed(operation: operation) }
        try x.requireNonEmpty(operation, "X")
        try x.requireShape(Shape(x.rows, dimension - (appendingOnes ? 1 : 0)), operation, "X")
        try w.requireShape(Shape(x.rows, dimension), operation, "W")
        try x.requireFinite(operation, "X")
        applyRightUnchecked(toInputs: x, appendingOnes: appendingOnes, into: &w, slot: .current)
    }

    /// `applyRight` without its checks, with the current or the staged inverse.
    @inlinable
    package mutating func applyRightUnchecked(
        toInputs x: Matrix<Scalar>, appendingOnes: Bool, into w: inout Matrix<Scalar>, slot: InverseSlot
    ) {
        let (batch, n) = (x.rows, x.columns)
        let r = slot == .current ? currentRank : stagedRank
        if workspace.shape != Shape(batch, r) { workspace = Matrix(rows: batch, columns: r) }
        let (c, s) = slot == .current ? (scale, shift) : (stagedScale, stagedShift)
        let (alpha, beta) = (-c / s, 1 / s)
        x.withView { x in
            w.withMutableView { w in
                withApplyBuffers(slot) { u, v, t in
                    // T = [X | 1]·Uᵀ: one GEMM over the inputs, then U's bias column added to
                    // every row.
                    BLAS.gemmOnWorkers(x, u.columns(0..<n), transposeB: true, into: t)
                    w.columns(0..<n).update(from: x)
                    if appendingOnes {
                        w.columns(n..<n + 1).fill(with: 1)
                        BLAS.addToEveryRow(u.columns(n..<n + 1), transposed: true, of: t)
                    }
                    // W = (1/s)·[X | 1] − (c/s)·T·V
                    BLAS.gemmOnWorkers(t.readOnly, v, alpha: alpha, beta: beta, into: w)
                }
            }
        }
    }
}
