import CBLAS

/// Double binds `BLASScalar`'s BLAS and LAPACK requirements to OpenBLAS's `cblas_d*` and
/// LAPACKE's `LAPACKE_d*_work` routines (its loops are the protocol's defaults).
extension Double: BLASScalar {
    @inlinable
    public var storageBits: UInt64 { UInt64(bitPattern) }

    @inlinable
    public init?(storageBits: UInt64) {
        guard let pattern = UInt64(exactly: storageBits) else { return nil }
        self.init(bitPattern: pattern)
    }

    @inlinable @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable @inline(__always)
    public static func syrk(
        transpose: Bool, n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dsyrk(
            CblasRowMajor, CblasLower, transpose ? CblasTrans : CblasNoTrans,
            Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }

    @inlinable @inline(__always)
    public static func symm(
        left: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int, beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dsymm(
            CblasRowMajor, left ? CblasLeft : CblasRight, CblasLower, Int32(m), Int32(n),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable @inline(__always)
    public static func trsm(
        left: Bool, transpose: Bool, m: Int, n: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafeMutablePointer<Double>, ldb: Int
    ) {
        cblas_dtrsm(
            CblasRowMajor, left ? CblasLeft : CblasRight, CblasLower,
            transpose ? CblasTrans : CblasNoTrans, CblasNonUnit, Int32(m), Int32(n),
            alpha, a, Int32(lda), b, Int32(ldb))
    }

    @inlinable @inline(__always)
    public static func axpy(
        n: Int, alpha: Double, x: UnsafePointer<Double>, incx: Int,
        y: UnsafeMutablePointer<Double>, incy: Int
    ) {
        cblas_daxpy(Int32(n), alpha, x, Int32(incx), y, Int32(incy))
    }

    @inlinable @inline(__always)
    public static func scal(n: Int, alpha: Double, x: UnsafeMutablePointer<Double>, incx: Int) {
        cblas_dscal(Int32(n), alpha, x, Int32(incx))
    }

    @inlinable @inline(__always)
    public static func nrm2(n: Int, x: UnsafePointer<Double>, incx: Int) -> Double {
        cblas_dnrm2(Int32(n), x, Int32(incx))
    }

    @inlinable @inline(__always)
    public static func dot(
        n: Int, x: UnsafePointer<Double>, incx: Int, y: UnsafePointer<Double>, incy: Int
    ) -> Double {
        cblas_ddot(Int32(n), x, Int32(incx), y, Int32(incy))
    }

    @inlinable @inline(__always)
    public static func potrf(n: Int, a: UnsafeMutablePointer<Double>, lda: Int) -> Int {
        Int(LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(n), a, Int32(lda)))
    }

    @inlinable @inline(__always)
    public static func potri(n: Int, a: UnsafeMutablePointer<Double>, lda: Int) -> Int {
        Int(LAPACKE_dpotri_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(n), a, Int32(lda)))
    }

    @inlinable @inline(__always)
    public static func potrs(
        n: Int, nrhs: Int, a: UnsafePointer<Double>, lda: Int,
        b: UnsafeMutablePointer<Double>, ldb: Int
    ) -> Int {
        Int(LAPACKE_dpotrs_work(
            LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(n), Int32(nrhs),
            a, Int32(lda), b, Int32(ldb)))
    }

    @inlinable @inline(__always)
    public static func syevd(
        vectors: Bool, n: Int, a: UnsafeMutablePointer<Double>, lda: Int,
        w: UnsafeMutablePointer<Double>, work: UnsafeMutablePointer<Double>, lwork: Int,
        iwork: UnsafeMutablePointer<Int32>, liwork: Int
    ) -> Int {
        Int(LAPACKE_dsyevd_work(
            LAPACK_COL_MAJOR, CChar(UInt8(ascii: vectors ? "V" : "N")), CChar(UInt8(ascii: "U")),
            Int32(n), a, Int32(lda), w, work, Int32(lwork), iwork, Int32(liwork)))
    }
}
