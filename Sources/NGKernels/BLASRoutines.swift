import CBLAS

/// One precision's OpenBLAS and LAPACKE routines with the signatures C declares: the table a
/// `BLASScalar` conformance fills with `cblas_s…`/`LAPACKE_s…_work` or their `d` twins, so that
/// the Swift-typed forwarders (`BLASScalar+Routines.swift`) are written once for both.
public struct BLASRoutines<Scalar>: Sendable {
    public typealias Pointer = UnsafePointer<Scalar>?
    public typealias MutablePointer = UnsafeMutablePointer<Scalar>?
    public typealias Gemm = @Sendable (
        CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint,
        Scalar, Pointer, blasint, Pointer, blasint, Scalar, MutablePointer, blasint) -> Void
    public typealias Syrk = @Sendable (
        CBLAS_ORDER, CBLAS_UPLO, CBLAS_TRANSPOSE, blasint, blasint,
        Scalar, Pointer, blasint, Scalar, MutablePointer, blasint) -> Void
    public typealias Symm = @Sendable (
        CBLAS_ORDER, CBLAS_SIDE, CBLAS_UPLO, blasint, blasint,
        Scalar, Pointer, blasint, Pointer, blasint, Scalar, MutablePointer, blasint) -> Void
    public typealias Trsm = @Sendable (
        CBLAS_ORDER, CBLAS_SIDE, CBLAS_UPLO, CBLAS_TRANSPOSE, CBLAS_DIAG, blasint, blasint,
        Scalar, Pointer, blasint, MutablePointer, blasint) -> Void
    public typealias Axpy = @Sendable (blasint, Scalar, Pointer, blasint, MutablePointer, blasint) -> Void
    public typealias Scal = @Sendable (blasint, Scalar, MutablePointer, blasint) -> Void
    public typealias Nrm2 = @Sendable (blasint, Pointer, blasint) -> Scalar
    public typealias Dot = @Sendable (blasint, Pointer, blasint, Pointer, blasint) -> Scalar
    /// LAPACKE's `potrf` and `potri`: (layout, uplo, n, a, lda) → info.
    public typealias Factor = @Sendable (Int32, CChar, Int32, MutablePointer, Int32) -> Int32
    public typealias Potrs = @Sendable (
        Int32, CChar, Int32, Int32, Pointer, Int32, MutablePointer, Int32) -> Int32
    public typealias Syevd = @Sendable (
        Int32, CChar, CChar, Int32, MutablePointer, Int32, MutablePointer, MutablePointer, Int32,
        UnsafeMutablePointer<Int32>?, Int32) -> Int32

    public let gemm: Gemm, syrk: Syrk, symm: Symm, trsm: Trsm
    public let axpy: Axpy, scal: Scal, nrm2: Nrm2, dot: Dot
    public let potrf: Factor, potri: Factor, potrs: Potrs, syevd: Syevd

    public init(
        gemm: @escaping Gemm, syrk: @escaping Syrk, symm: @escaping Symm, trsm: @escaping Trsm,
        axpy: @escaping Axpy, scal: @escaping Scal, nrm2: @escaping Nrm2, dot: @escaping Dot,
        potrf: @escaping Factor, potri: @escaping Factor, potrs: @escaping Potrs,
        syevd: @escaping Syevd
    ) {
        (self.gemm, self.syrk, self.symm, self.trsm) = (gemm, syrk, symm, trsm)
        (self.axpy, self.scal, self.nrm2, self.dot) = (axpy, scal, nrm2, dot)
        (self.potrf, self.potri, self.potrs, self.syevd) = (potrf, potri, potrs, syevd)
    }
}
