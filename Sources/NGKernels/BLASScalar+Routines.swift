import CBLAS

/// The BLAS and LAPACK calls of a `BLASScalar`: each forwards, unchecked, to the routine its
/// precision's `blasRoutines` names, converting sizes to `Int32` and flags to CBLAS's enums.
/// Row-major; symmetric and triangular operands in their lower triangle (see `BLASScalar`).
extension BLASScalar {
    /// `C ← α·op(A)·op(B) + β·C`, with `op(A)` m×k, `op(B)` k×n, `C` m×n.
    @inlinable @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        blasRoutines.gemm(
            CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Lower triangle of `C ← α·A·Aᵀ + β·C` (A n×k), or of `C ← α·Aᵀ·A + β·C` (A k×n)
    /// when `transpose` is true. C is n×n.
    @inlinable @inline(__always)
    public static func syrk(
        transpose: Bool, n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        blasRoutines.syrk(
            CblasRowMajor, CblasLower, cblasTranspose(transpose),
            Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }

    /// `C ← α·A·B + β·C` (`left`) or `C ← α·B·A + β·C`, A symmetric (lower triangle read),
    /// B and C m×n.
    @inlinable @inline(__always)
    public static func symm(
        left: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        blasRoutines.symm(
            CblasRowMajor, left ? CblasLeft : CblasRight, CblasLower, Int32(m), Int32(n),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `B ← α·op(L)⁻¹·B` (`left`) or `B ← α·B·op(L)⁻¹`, L lower triangular with a non-unit
    /// diagonal, B m×n.
    @inlinable @inline(__always)
    public static func trsm(
        left: Bool, transpose: Bool, m: Int, n: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafeMutablePointer<Self>, ldb: Int
    ) {
        blasRoutines.trsm(
            CblasRowMajor, left ? CblasLeft : CblasRight, CblasLower, cblasTranspose(transpose),
            CblasNonUnit, Int32(m), Int32(n), alpha, a, Int32(lda), b, Int32(ldb))
    }

    /// `y ← α·x + y` over `n` strided elements.
    @inlinable @inline(__always)
    public static func axpy(
        n: Int, alpha: Self, x: UnsafePointer<Self>, incx: Int,
        y: UnsafeMutablePointer<Self>, incy: Int
    ) {
        blasRoutines.axpy(Int32(n), alpha, x, Int32(incx), y, Int32(incy))
    }

    /// `x ← α·x` over `n` strided elements.
    @inlinable @inline(__always)
    public static func scal(n: Int, alpha: Self, x: UnsafeMutablePointer<Self>, incx: Int) {
        blasRoutines.scal(Int32(n), alpha, x, Int32(incx))
    }

    /// The Euclidean norm of `n` strided elements, computed without overflow.
    @inlinable @inline(__always)
    public static func nrm2(n: Int, x: UnsafePointer<Self>, incx: Int) -> Self {
        blasRoutines.nrm2(Int32(n), x, Int32(incx))
    }

    /// `xᵀy` over `n` strided elements.
    @inlinable @inline(__always)
    public static func dot(
        n: Int, x: UnsafePointer<Self>, incx: Int, y: UnsafePointer<Self>, incy: Int
    ) -> Self {
        blasRoutines.dot(Int32(n), x, Int32(incx), y, Int32(incy))
    }

    /// Cholesky factorization in place: on success the row-major lower triangle holds L with
    /// `A = L·Lᵀ` (the strict upper triangle is not touched). Returns LAPACK's `info`:
    /// 0 success, `k > 0` the leading minor of order k is not positive definite.
    @inlinable @inline(__always)
    public static func potrf(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int {
        Int(blasRoutines.potrf(LAPACK_COL_MAJOR, lapackFlag("U"), Int32(n), a, Int32(lda)))
    }

    /// From the factor left by `potrf`, the lower triangle of `A⁻¹` in place. Returns `info`.
    @inlinable @inline(__always)
    public static func potri(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int {
        Int(blasRoutines.potri(LAPACK_COL_MAJOR, lapackFlag("U"), Int32(n), a, Int32(lda)))
    }

    /// Solves `X·A = B` in place for B with `nrhs` rows and n columns (row-major), using
    /// the factor left by `potrf`; the same memory read column-major is `A·Xᵀ = Bᵀ`.
    /// Returns `info`.
    @inlinable @inline(__always)
    public static func potrs(
        n: Int, nrhs: Int, a: UnsafePointer<Self>, lda: Int,
        b: UnsafeMutablePointer<Self>, ldb: Int
    ) -> Int {
        Int(blasRoutines.potrs(
            LAPACK_COL_MAJOR, lapackFlag("U"), Int32(n), Int32(nrhs), a, Int32(lda), b, Int32(ldb)))
    }

    /// Eigenvalues (ascending, into `w`) and, when `vectors` is true, eigenvectors of the
    /// symmetric matrix A in place, by divide and conquer. Eigenvector j is **row** j of A on
    /// return (row-major view of LAPACK's column-major result). A query with `lwork == -1`
    /// writes the optimal sizes into `work[0]` and `iwork[0]`. Returns `info`.
    @inlinable @inline(__always)
    public static func syevd(
        vectors: Bool, n: Int, a: UnsafeMutablePointer<Self>, lda: Int,
        w: UnsafeMutablePointer<Self>, work: UnsafeMutablePointer<Self>, lwork: Int,
        iwork: UnsafeMutablePointer<Int32>, liwork: Int
    ) -> Int {
        Int(blasRoutines.syevd(
            LAPACK_COL_MAJOR, lapackFlag(vectors ? "V" : "N"), lapackFlag("U"),
            Int32(n), a, Int32(lda), w, work, Int32(lwork), iwork, Int32(liwork)))
    }

    @usableFromInline @inline(__always)
    static func cblasTranspose(_ transpose: Bool) -> CBLAS_TRANSPOSE {
        transpose ? CblasTrans : CblasNoTrans
    }

    @usableFromInline @inline(__always)
    static func lapackFlag(_ flag: Unicode.Scalar) -> CChar { CChar(UInt8(ascii: flag)) }
}
