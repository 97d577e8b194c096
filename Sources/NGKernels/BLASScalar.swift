/// A floating-point type that OpenBLAS and LAPACKE support: `Float` (the `s` routines) and
/// `Double` (the `d` routines). It is also where the package's few non-BLAS loops
/// (`ElementwiseKernels`) are dispatched, so that they run compiled for the concrete type
/// whatever the caller.
///
/// The BLAS and LAPACK members (`BLASScalar+Routines.swift`) are thin, unchecked forwarders to
/// one C routine each, the conformance naming which (`blasRoutines`). All matrices are
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
    /// OpenBLAS's and LAPACKE's routines for this precision (`cblas_s…` or `cblas_d…`), which
    /// the forwarders in `BLASScalar+Routines.swift` call.
    static var blasRoutines: BLASRoutines<Self> { get }

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

    /// `momentumUpdate` of scattered rows on the calling thread, a sparse step's: row k of
    /// `gradient` and of `into` (rows `width` apart) with row `rows[k]` of `velocity`; the update's
    /// weight is the table, row `rows[k]` read, and its new weight row k, written (its decay on
    /// every value). The table rows are prefetched ahead of their update.
    static func momentumUpdateRows(
        gradient: UnsafeMutablePointer<Self>, velocity: UnsafePointer<Self>, into: UnsafeMutablePointer<Self>,
        rows: UnsafeBufferPointer<Int>, width: Int, momentum: Self, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Self>) -> Bool

    /// `adamUpdate` of scattered rows on the calling thread, a sparse step's: row k of `gradient`,
    /// `intoFirst` and `intoSecond` (rows `width` apart) with row `rows[k]` of the moments; with
    /// `weightUpdate`, table row `rows[k]` of its weight into row k of its new weight (every
    /// value decayed), else the step over row k of `gradient`. The table rows are prefetched
    /// ahead of their update.
    static func adamUpdateRows(
        gradient: UnsafeMutablePointer<Self>, firstMoment: UnsafePointer<Self>, secondMoment: UnsafePointer<Self>,
        intoFirst: UnsafeMutablePointer<Self>, intoSecond: UnsafeMutablePointer<Self>, rows: UnsafeBufferPointer<Int>,
        width: Int, beta1: Self, beta2: Self, correction1: Self, correction2: Self, epsilon: Self,
        weightUpdate: FusedWeightUpdate<Self>?) -> Bool

    /// `ElementwiseKernels.scaledUpdate`, compiled for this type.
    static func scaledUpdate(
        _ w: UnsafePointer<Self>, keep: Self, minus scale: Self, times u: UnsafePointer<Self>,
        into: UnsafeMutablePointer<Self>, count: Int) -> Bool

    /// `ElementwiseKernels.unfold` (im2col of `batch` samples), compiled for this type.
    static func unfold(
        _ geometry: ConvGeometry, _ x: UnsafePointer<Self>, batch: Int, sampleStride: Int,
        into u: UnsafeMutablePointer<Self>, ld: Int)

    /// A matrix transposed into a contiguous one (`ElementwiseKernels.transpose`; Float's is
    /// `FloatLoops.transpose`).
    static func transpose(
        _ source: UnsafePointer<Self>, rows: Int, columns: Int, leadingDimension: Int,
        into target: UnsafeMutablePointer<Self>)

    /// A small matrix product on the calling thread, `C = α·Σ_{x ∈ inner} A(r, x)·B[x, :] + β·C`
    /// with `A(r, x) = a[r·rowStride + x·innerStride]`, one of the strides 1 (Float's is
    /// `FloatLoops.tileProduct`; Double's one BLAS GEMM).
    static func tileProduct(
        rows: Int, columns: Int, inner: Range<Int>, a: UnsafePointer<Self>, rowStride: Int, innerStride: Int,
        b: UnsafePointer<Self>, ldb: Int, alpha: Self, beta: Self, into c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `tileProduct` with A's and B's rows found in tables, `A(r, x) = a[aRows[r] + innerOffsets(x)]`
    /// and B's row x at `b + bRows[x]`, summed over the x of `inner` that `runs` takes: a
    /// convolution's padded planes read in place as its patches (Float's is
    /// `FloatLoops.gatheredTileProduct`; Double's plain loops).
    static func gatheredTileProduct(
        rows: Int, columns: Int, inner: Range<Int>, runs: InnerRuns, a: UnsafePointer<Self>,
        rowOffsets aRows: UnsafePointer<Int>,
        innerOffsets: InnerOffsets, b: UnsafePointer<Self>, rowOffsets bRows: UnsafePointer<Int>, alpha: Self, beta: Self,
        into c: UnsafeMutablePointer<Self>, ldc: Int)

    /// The column sums of a `rows × columns` block on the calling thread, `sums[c·stride] =
    /// Σ_r a[r·leadingDimension + c]` (plus what `sums[c·stride]` held when `accumulate`), each
    /// column summed in order of its rows from 0 before the add (Float's is
    /// `FloatLoops.columnSums`; Double's a plain loop).
    static func columnSums(
        _ a: UnsafePointer<Self>, rows: Int, columns: Int, leadingDimension: Int, accumulate: Bool,
        into sums: UnsafeMutablePointer<Self>, stride: Int)
}
