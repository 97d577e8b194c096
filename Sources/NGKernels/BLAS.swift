/// Validated BLAS on whole matrices. Each call checks shapes and emptiness, then makes one
/// BLAS call on the matrices' own storage: no copy, no allocation when the output is uniquely
/// held. Values are not checked for finiteness here: NaN and infinity propagate as IEEE
/// arithmetic says; the GFIM, inverse and apply kernels are the ones that refuse them.
public enum BLAS {
    /// `C ← α·op(A)·op(B) + β·C` (GEMM).
    @inlinable
    public static func gemm<Scalar: BLASScalar>(
        _ a: Matrix<Scalar>, transposeA: Bool = false,
        _ b: Matrix<Scalar>, transposeB: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0, into c: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.blasGemm
        try requireOperands(a, b, operation)
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        let bShape = transposeB ? Shape(n, k) : Shape(k, n)
        try b.requireShape(bShape, operation, "B")
        try c.requireShape(Shape(m, n), operation, "C")
        withViews(a, b, mutating: &c) { a, b, c in
            gemm(a, transposeA: transposeA, b, transposeB: transposeB, alpha: alpha, beta: beta, into: c)
        }
    }

    /// The first checks of a product of A and B: neither is empty (and the kernel-fit warning,
    /// once per process, at the first kernel call).
    @inlinable
    static func requireOperands<Scalar: BLASScalar>(
        _ a: Matrix<Scalar>, _ b: Matrix<Scalar>, _ operation: NGError.Operation
    ) throws(NGError) {
        KernelFitWarning.emitOnce()
        try a.requireNonEmpty(operation, "A")
        try b.requireNonEmpty(operation, "B")
    }

    /// `C ← α·A·Aᵀ + β·C`, or `C ← α·Aᵀ·A + β·C` when `transpose` is true (SYRK).
    /// BLAS writes the lower triangle; with `symmetrize` (the default) it is mirrored into the
    /// upper one so that C is a complete symmetric matrix.
    @inlinable
    public static func syrk<Scalar: BLASScalar>(
        _ a: Matrix<Scalar>, transpose: Bool = false, alpha: Scalar = 1, beta: Scalar = 0,
        symmetrize: Bool = true, into c: inout Matrix<Scalar>
    ) throws(NGError) {
        KernelFitWarning.emitOnce()
        let operation = NGError.Operation.blasSyrk
        try a.requireNonEmpty(operation, "A")
        let n = transpose ? a.columns : a.rows
        try c.requireShape(Shape(n, n), operation, "C")
        a.withView { a in
            c.withMutableView { c in
                syrk(a, transpose: transpose, alpha: alpha, beta: beta, into: c)
                if symmetrize { c.mirrorLowerTriangle() }
            }
        }
    }

    /// `C ← α·A·B + β·C` (`side == .left`) or `C ← α·B·A + β·C`, A symmetric of which only the
    /// lower triangle is read (SYMM).
    @inlinable
    public static func symm<Scalar: BLASScalar>(
        _ a: Matrix<Scalar>, side: Side = .left, _ b: Matrix<Scalar>,
        alpha: Scalar = 1, beta: Scalar = 0, into c: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.blasSymm
        try requireOperands(a, b, operation)
        try a.requireShape(Shape(a.rows, a.rows), operation, "A")
        let needed = side == .left ? Shape(a.rows, b.columns) : Shape(b.rows, a.rows)
        try b.requireShape(needed, operation, "B")
        try c.requireShape(needed, operation, "C")
        withViews(a, b, mutating: &c) { a, b, c in
            Scalar.symm(
                left: side == .left, m: b.rows, n: b.columns, alpha: alpha, a: a.base, lda: a.leadingDimension,
                b: b.base, ldb: b.leadingDimension, beta: beta, c: c.base, ldc: c.leadingDimension)
        }
    }

    /// `Y ← α·X + Y`, elementwise over matrices of one shape (AXPY).
    @inlinable
    public static func axpy<Scalar: BLASScalar>(
        alpha: Scalar, _ x: Matrix<Scalar>, into y: inout Matrix<Scalar>
    ) throws(NGError) {
        try y.requireShape(x.shape, .blasAxpy, "Y")
        if x.isEmpty { return }
        x.withView { x in y.withMutableView { y in axpy(alpha, x.flattened, into: y.flattened) } }
    }

    /// `X ← α·X` (SCAL).
    @inlinable
    public static func scal<Scalar: BLASScalar>(_ alpha: Scalar, _ x: inout Matrix<Scalar>) {
        if x.isEmpty { return }
        x.withMutableView { x in scal(alpha, x.flattened) }
    }

    /// The Frobenius norm, computed by NRM2 without overflow (0 for an empty matrix).
    @inlinable
    public static func nrm2<Scalar: BLASScalar>(_ x: Matrix<Scalar>) -> Scalar {
        if x.isEmpty { return 0 }
        return x.withView { x in nrm2(x.flattened) }
    }
}
