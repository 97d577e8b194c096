import CBLAS

/// Float binds `BLASScalar`'s BLAS and LAPACK requirements to OpenBLAS's `cblas_s*` and
/// LAPACKE's `LAPACKE_s*_work` routines (its loops are the protocol's defaults).
extension Float: BLASScalar {
    @inlinable
    public var storageBits: UInt64 { UInt64(bitPattern) }

    @inlinable
    public init?(storageBits: UInt64) {
        guard let pattern = UInt32(exactly: storageBits) else { return nil }
        self.init(bitPattern: pattern)
    }

    @inlinable @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable @inline(__always)
    public static func syrk(
        transpose: Bool, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_ssyrk(
            CblasRowMajor, CblasLower, transpose ? CblasTrans : CblasNoTrans,
            Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
    }

    @inlinable @inline(__always)
    public static func symm(
        left: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_ssymm(
            CblasRowMajor, left ? CblasLeft : CblasRight, CblasLower, Int32(m), Int32(n),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable @inline(__always)
    public static func trsm(
        left: Bool, transpose: Bool, m: Int, n: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafeMutablePointer<Float>, ldb: Int
    ) {
        cblas_strsm(
            CblasRowMajor, left ? CblasLeft : CblasRight, CblasLower,
            transpose ? CblasTrans : CblasNoTrans, CblasNonUnit, Int32(m), Int32(n),
            alpha, a, Int32(lda), b, Int32(ldb))
    }

    @inlinable @inline(__always)
    public static func axpy(
        n: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int,
        y: UnsafeMutablePointer<Float>, incy: Int
    ) {
        cblas_saxpy(Int32(n), alpha, x, Int32(incx), y, Int32(incy))
    }

    @inlinable @inline(__always)
    public static func scal(n: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incx: Int) {
        cblas_sscal(Int32(n), alpha, x, Int32(incx))
    }

    @inlinable @inline(__always)
    public static func nrm2(n: Int, x: UnsafePointer<Float>, incx: Int) -> Float {
        cblas_snrm2(Int32(n), x, Int32(incx))
    }

    @inlinable @inline(__always)
    public static func dot(
        n: Int, x: UnsafePointer<Float>, incx: Int, y: UnsafePointer<Float>, incy: Int
    ) -> Float {
        cblas_sdot(Int32(n), x, Int32(incx), y, Int32(incy))
    }

    @inlinable @inline(__always)
    public static func potrf(n: Int, a: UnsafeMutablePointer<Float>, lda: Int) -> Int {
        Int(LAPACKE_spotrf_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(n), a, Int32(lda)))
    }

    @inlinable @inline(__always)
    public static func potri(n: Int, a: UnsafeMutablePointer<Float>, lda: Int) -> Int {
        Int(LAPACKE_spotri_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(n), a, Int32(lda)))
    }

    @inlinable @inline(__always)
    public static func potrs(
        n: Int, nrhs: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafeMutablePointer<Float>, ldb: Int
    ) -> Int {
        Int(LAPACKE_spotrs_work(
            LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(n), Int32(nrhs),
            a, Int32(lda), b, Int32(ldb)))
    }

    @inlinable @inline(__always)
    public static func syevd(
        vectors: Bool, n: Int, a: UnsafeMutablePointer<Float>, lda: Int,
        w: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Float>, lwork: Int,
        iwork: UnsafeMutablePointer<Int32>, liwork: Int
    ) -> Int {
        Int(LAPACKE_ssyevd_work(
            LAPACK_COL_MAJOR, CChar(UInt8(ascii: vectors ? "V" : "N")), CChar(UInt8(ascii: "U")),
            Int32(n), a, Int32(lda), w, work, Int32(lwork), iwork, Int32(liwork)))
    }
}
