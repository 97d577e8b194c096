/// BLAS on views, for callers that validated their matrices at their own entry point: the
/// shapes are the views', checked by preconditions (a mismatch is a programmer error), and
/// nothing is scanned. A view with one row or one column is also a vector, with stride 1 or its
/// leading dimension.
extension BLAS {
    /// `C ← α·op(A)·op(B) + β·C`.
    @inlinable
    package static func gemm<Scalar: BLASScalar>(
        _ a: MatrixView<Scalar>, transposeA: Bool = false, _ b: MatrixView<Scalar>, transposeB: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0, into c: MutableMatrixView<Scalar>
    ) {
        let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (kb, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        precondition(k == kb && c.rows == m && c.columns == n, "GEMM views of incompatible shapes")
        guard m > 0, n > 0 else { return }
        // OpenBLAS applies β in a pass of its own over C before the product (`gemm_beta`); for
        // β = 0 on a small C that pass took up to half of the call here
        // (docs/measurements/kernels-and-steps-2026-11-30.md). A C of up to 2¹⁶ values is
        // zeroed first and the product added with β = 1, which skips the pass: the same
        // values, the kernel adds α·A·B to a zero C either way. A larger C keeps OpenBLAS's
        // pass, which its threads share.
        let zeroesC = beta == 0 && m * n <= 1 << 16
        if zeroesC { c.zero() }
        Scalar.gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a.base, lda: a.leadingDimension, b: b.base, ldb: b.leadingDimension,
            beta: zeroesC ? 1 : beta, c: c.base, ldc: c.leadingDimension)
    }

    /// `y ← α·x + y` for two vectors of one length (each a one-row or one-column view).
    @inlinable
    package static func axpy<Scalar: BLASScalar>(
        _ alpha: Scalar, _ x: MatrixView<Scalar>, into y: MutableMatrixView<Scalar>
    ) {
        let (n, incx) = vector(x.rows, x.columns, x.leadingDimension)
        let (ny, incy) = vector(y.rows, y.columns, y.leadingDimension)
        precondition(n == ny, "AXPY vectors of different lengths")
        Scalar.axpy(n: n, alpha: alpha, x: x.base, incx: incx, y: y.base, incy: incy)
    }

    /// `C ← α·A·Aᵀ + β·C` (or `α·Aᵀ·A + β·C` with `transpose`) into the lower triangle of the
    /// square view C (SYRK).
    @inlinable
    package static func syrk<Scalar: BLASScalar>(
        _ a: MatrixView<Scalar>, transpose: Bool = false, alpha: Scalar = 1, beta: Scalar = 0,
        into c: MutableMatrixView<Scalar>
    ) {
        let (n, k) = transpose ? (a.columns, a.rows) : (a.rows, a.columns)
        precondition(c.rows == c.columns && c.rows == n, "SYRK views of incompatible shapes")
        Scalar.syrk(
            transpose: transpose, n: n, k: k, alpha: alpha, a: a.base, lda: a.leadingDimension,
            beta: beta, c: c.base, ldc: c.leadingDimension)
    }

    /// `xᵀ·y` for two vectors of one length.
    @inlinable
    package static func dot<Scalar: BLASScalar>(_ x: MatrixView<Scalar>, _ y: MatrixView<Scalar>) -> Scalar {
        let (n, incx) = vector(x.rows, x.columns, x.leadingDimension)
        let (ny, incy) = vector(y.rows, y.columns, y.leadingDimension)
        precondition(n == ny, "DOT vectors of different lengths")
        return Scalar.dot(n: n, x: x.base, incx: incx, y: y.base, incy: incy)
    }

    /// `‖x‖₂` of a vector.
    @inlinable
    package static func nrm2<Scalar: BLASScalar>(_ x: MatrixView<Scalar>) -> Scalar {
        let (n, incx) = vector(x.rows, x.columns, x.leadingDimension)
        return Scalar.nrm2(n: n, x: x.base, incx: incx)
    }

    /// `x ← α·x` for a vector (a one-row or one-column view).
    @inlinable
    package static func scal<Scalar: BLASScalar>(_ alpha: Scalar, _ x: MutableMatrixView<Scalar>) {
        let (n, incx) = vector(x.rows, x.columns, x.leadingDimension)
        Scalar.scal(n: n, alpha: alpha, x: x.base, incx: incx)
    }

    /// `B ← α·op(L)⁻¹·B` (`.left`) or `B ← α·B·op(L)⁻¹` (`.right`), L the lower triangle of
    /// the square view `l` (TRSM).
    @inlinable
    package static func trsm<Scalar: BLASScalar>(
        _ side: Side, transpose: Bool, alpha: Scalar = 1, _ l: MatrixView<Scalar>, _ b: MutableMatrixView<Scalar>
    ) {
        precondition(l.rows == l.columns && (side == .left ? b.rows : b.columns) == l.rows, "TRSM views of incompatible shapes")
        Scalar.trsm(
            left: side == .left, transpose: transpose, m: b.rows, n: b.columns, alpha: alpha,
            a: l.base, lda: l.leadingDimension, b: b.base, ldb: b.leadingDimension)
    }

    /// The length and stride of a one-row or one-column view.
    @inlinable
    static func vector(_ rows: Int, _ columns: Int, _ leadingDimension: Int) -> (count: Int, stride: Int) {
        precondition(rows == 1 || columns == 1, "a vector view has one row or one column")
        return rows == 1 ? (columns, 1) : (rows, leadingDimension)
    }
}

extension BLAS {
    /// `gemm` split over the worker threads: C's longer side cut into `ConcurrentCalls.parts`,
    /// each part a GEMM with OpenBLAS on one thread (`ConcurrentCalls`). For the mid-sized
    /// products of a step: OpenBLAS's own second thread sleeps between calls, and waking a
    /// sleeping thread cost 26–50 µs here (docs/measurements/worker-threads-2026-12-07.md) —
    /// by the count, a product of about 2²¹ multiply-adds on one core. The parts depend on the
    /// shape alone, so C has the same bits on any number of threads.
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package static func gemmOnWorkers<Scalar: BLASScalar>(
        _ a: MatrixView<Scalar>, transposeA: Bool = false, _ b: MatrixView<Scalar>, transposeB: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0, into c: MutableMatrixView<Scalar>
    ) {
        let k = transposeA ? a.rows : a.columns
        let (m, n) = (c.rows, c.columns)
        let byRows = m >= n
        let length = byRows ? m : n
        let parts = ConcurrentCalls.parts(of: length)
        ConcurrentCalls.forEach(parts, work: Double(m) * Double(n) * Double(k)) { part in
            let range = ConcurrentCalls.range(ofPart: part, of: parts, length: length)
            if byRows {
                gemm(transposeA ? a.columns(range) : a.rows(range), transposeA: transposeA, b, transposeB: transposeB,
                     alpha: alpha, beta: beta, into: c.rows(range))
            } else {
                gemm(a, transposeA: transposeA, transposeB ? b.rows(range) : b.columns(range), transposeB: transposeB,
                     alpha: alpha, beta: beta, into: c.columns(range))
            }
        }
    }
}
