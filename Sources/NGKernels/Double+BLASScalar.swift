import CBLAS

/// Double forwards every `BLASScalar` requirement to OpenBLAS's `cblas_d*` and LAPACKE's
/// `LAPACKE_d*_work` routines.
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

    public static func smallCholeskyInverse(n: Int, a: UnsafeMutablePointer<Double>, lda: Int) -> Int {
        ElementwiseKernels.smallCholeskyInverse(n: n, a: a, lda: lda)
    }

    public static func mirrorLowerTriangle(_ a: UnsafeMutablePointer<Double>, n: Int, ld: Int) {
        ElementwiseKernels.mirrorLowerTriangle(a, n: n, ld: ld)
    }

    public static func allFinite(_ values: UnsafePointer<Double>, count: Int) -> Bool {
        ElementwiseKernels.allFinite(values, count: count)
    }

    public static func maxAbsolute(_ values: UnsafePointer<Double>, count: Int) -> Double {
        ElementwiseKernels.maxAbsolute(values, count: count)
    }

    public static func adamUpdate(
        gradient: UnsafeMutablePointer<Double>, firstMoment: UnsafePointer<Double>,
        secondMoment: UnsafePointer<Double>, intoFirst: UnsafeMutablePointer<Double>,
        intoSecond: UnsafeMutablePointer<Double>, count: Int,
        beta1: Double, beta2: Double, correction1: Double, correction2: Double, epsilon: Double,
        weightUpdate: FusedWeightUpdate<Double>?
    ) -> Bool {
        ElementwiseKernels.adamUpdate(
            gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment, intoFirst: intoFirst,
            intoSecond: intoSecond, count: count, beta1: beta1, beta2: beta2, correction1: correction1,
            correction2: correction2, epsilon: epsilon, weightUpdate: weightUpdate)
    }

    public static func momentumUpdate(
        gradient: UnsafeMutablePointer<Double>, velocity: UnsafePointer<Double>,
        into: UnsafeMutablePointer<Double>, count: Int, momentum: Double, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Double>?
    ) -> Bool {
        ElementwiseKernels.momentumUpdate(
            gradient: gradient, velocity: velocity, into: into, count: count, momentum: momentum,
            restart: restart, nesterov: nesterov, weightUpdate: weightUpdate)
    }

    public static func scaledUpdate(
        _ w: UnsafePointer<Double>, keep: Double, minus scale: Double, times u: UnsafePointer<Double>,
        into: UnsafeMutablePointer<Double>, count: Int
    ) -> Bool {
        ElementwiseKernels.scaledUpdate(w, keep: keep, minus: scale, times: u, into: into, count: count)
    }

    public static func unfold(
        _ geometry: ConvGeometry, _ x: UnsafePointer<Double>, batch: Int, sampleStride: Int,
        into u: UnsafeMutablePointer<Double>, ld: Int
    ) {
        ElementwiseKernels.unfold(geometry, x, batch: batch, sampleStride: sampleStride, into: u, ld: ld)
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
