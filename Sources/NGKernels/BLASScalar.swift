/// A floating-point type that OpenBLAS and LAPACKE support: `Float` (the `s` routines) and
/// `Double` (the `d` routines). It is also where the package's few non-BLAS loops
/// (`ElementwiseKernels`) are dispatched, so that they run compiled for the concrete type
/// whatever the caller.
///
/// Every requirement is a thin, unchecked forwarder to one C routine. All matrices are
/// **row-major** with a leading dimension (`ld…`) counted in elements. Symmetric and
/// triangular operands are read from, and written to, their **lower** triangle in row-major
/// terms. Sizes must already be validated (non-negative and representable as `Int32`); the
/// validated entry points are `BLAS`, `GFIM`, `DampedInverse` and `WoodburyInverse`.
///
/// LAPACK routines are called through LAPACKE's `_work` entry points in column-major layout:
/// a row-major lower triangle is the same memory as a column-major upper triangle, so no
/// transposed copy is ever made (see docs/OPENBLAS.md).
public protocol BLASScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// The IEEE bit pattern, zero-extended to 64 bits: what state files store.
    var storageBits: UInt64 { get }

    /// The value of a `storageBits` pattern; nil when the pattern does not fit the type.
    init?(storageBits: UInt64)

    /// `C ← α·op(A)·op(B) + β·C`, with `op(A)` m×k, `op(B)` k×n, `C` m×n.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// Lower triangle of `C ← α·A·Aᵀ + β·C` (A n×k), or of `C ← α·Aᵀ·A + β·C` (A k×n)
    /// when `transpose` is true. C is n×n.
    static func syrk(
        transpose: Bool, n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `C ← α·A·B + β·C` (`left`) or `C ← α·B·A + β·C`, A symmetric (lower triangle read),
    /// B and C m×n.
    static func symm(
        left: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `B ← α·op(L)⁻¹·B` (`left`) or `B ← α·B·op(L)⁻¹`, L lower triangular with a non-unit
    /// diagonal, B m×n.
    static func trsm(
        left: Bool, transpose: Bool, m: Int, n: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafeMutablePointer<Self>, ldb: Int)

    /// `y ← α·x + y` over `n` strided elements.
    static func axpy(
        n: Int, alpha: Self, x: UnsafePointer<Self>, incx: Int,
        y: UnsafeMutablePointer<Self>, incy: Int)

    /// `x ← α·x` over `n` strided elements.
    static func scal(n: Int, alpha: Self, x: UnsafeMutablePointer<Self>, incx: Int)

    /// The Euclidean norm of `n` strided elements, computed without overflow.
    static func nrm2(n: Int, x: UnsafePointer<Self>, incx: Int) -> Self

    /// `xᵀy` over `n` strided elements.
    static func dot(
        n: Int, x: UnsafePointer<Self>, incx: Int, y: UnsafePointer<Self>, incy: Int) -> Self

    /// Cholesky factorization in place: on success the row-major lower triangle holds L with
    /// `A = L·Lᵀ` (the strict upper triangle is not touched). Returns LAPACK's `info`:
    /// 0 success, `k > 0` the leading minor of order k is not positive definite.
    static func potrf(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int

    /// From the factor left by `potrf`, the lower triangle of `A⁻¹` in place. Returns `info`.
    static func potri(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int

    /// Solves `X·A = B` in place for B with `nrhs` rows and n columns (row-major), using
    /// the factor left by `potrf`; the same memory read column-major is `A·Xᵀ = Bᵀ`.
    /// Returns `info`.
    static func potrs(
        n: Int, nrhs: Int, a: UnsafePointer<Self>, lda: Int,
        b: UnsafeMutablePointer<Self>, ldb: Int) -> Int

    /// `ElementwiseKernels.smallCholeskyInverse` (POTRI of a small order), compiled for this type.
    static func smallCholeskyInverse(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int

    /// `ElementwiseKernels.mirrorLowerTriangle`, compiled for this type.
    static func mirrorLowerTriangle(_ a: UnsafeMutablePointer<Self>, n: Int, ld: Int)

    /// `ElementwiseKernels.allFinite`, compiled for this type.
    static func allFinite(_ values: UnsafePointer<Self>, count: Int) -> Bool

    /// `ElementwiseKernels.maxAbsolute`, compiled for this type.
    static func maxAbsolute(_ values: UnsafePointer<Self>, count: Int) -> Self

    /// `ElementwiseKernels.adamUpdate`, compiled for this type.
    static func adamUpdate(
        gradient: UnsafeMutablePointer<Self>, firstMoment: UnsafePointer<Self>,
        secondMoment: UnsafePointer<Self>, intoFirst: UnsafeMutablePointer<Self>,
        intoSecond: UnsafeMutablePointer<Self>, count: Int,
        beta1: Self, beta2: Self, correction1: Self, correction2: Self, epsilon: Self,
        weightUpdate: FusedWeightUpdate<Self>?) -> Bool

    /// `ElementwiseKernels.momentumUpdate`, compiled for this type.
    static func momentumUpdate(
        gradient: UnsafeMutablePointer<Self>, velocity: UnsafePointer<Self>,
        into: UnsafeMutablePointer<Self>, count: Int, momentum: Self, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Self>?) -> Bool

    /// `ElementwiseKernels.scaledUpdate`, compiled for this type.
    static func scaledUpdate(
        _ w: UnsafePointer<Self>, keep: Self, minus scale: Self, times u: UnsafePointer<Self>,
        into: UnsafeMutablePointer<Self>, count: Int) -> Bool

    /// `ElementwiseKernels.unfold` (im2col of `batch` samples), compiled for this type.
    static func unfold(
        _ geometry: ConvGeometry, _ x: UnsafePointer<Self>, batch: Int, sampleStride: Int,
        into u: UnsafeMutablePointer<Self>, ld: Int)

    /// Eigenvalues (ascending, into `w`) and, when `vectors` is true, eigenvectors of the
    /// symmetric matrix A in place, by divide and conquer. Eigenvector j is **row** j of A on
    /// return (row-major view of LAPACK's column-major result). A query with `lwork == -1`
    /// writes the optimal sizes into `work[0]` and `iwork[0]`. Returns `info`.
    static func syevd(
        vectors: Bool, n: Int, a: UnsafeMutablePointer<Self>, lda: Int,
        w: UnsafeMutablePointer<Self>, work: UnsafeMutablePointer<Self>, lwork: Int,
        iwork: UnsafeMutablePointer<Int32>, liwork: Int) -> Int
}
