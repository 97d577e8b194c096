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
        KernelFitWarning.emitOnce()
        let operation = "BLAS.gemm"
        try a.requireNonEmpty(operation, "A")
        try b.requireNonEmpty(operation, "B")
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        let bShape = transposeB ? Shape(n, k) : Shape(k, n)
        try b.requireShape(bShape, operation, "B")
        try c.requireShape(Shape(m, n), operation, "C")
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                        alpha: alpha, a: pa.baseAddress!, lda: a.columns,
                        b: pb.baseAddress!, ldb: b.columns,
                        beta: beta, c: pc.baseAddress!, ldc: n)
                }
            }
        }
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
        let operation = "BLAS.syrk"
        try a.requireNonEmpty(operation, "A")
        let n = transpose ? a.columns : a.rows
        let k = transpose ? a.rows : a.columns
        try c.requireShape(Shape(n, n), operation, "C")
        a.withUnsafeBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { pc in
                Scalar.syrk(
                    transpose: transpose, n: n, k: k, alpha: alpha, a: pa.baseAddress!,
                    lda: a.columns, beta: beta, c: pc.baseAddress!, ldc: n)
                if symmetrize { mirrorLowerTriangle(pc.baseAddress!, n: n, ld: n) }
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
        KernelFitWarning.emitOnce()
        let operation = "BLAS.symm"
        try a.requireNonEmpty(operation, "A")
        try b.requireNonEmpty(operation, "B")
        try a.requireShape(Shape(a.rows, a.rows), operation, "A")
        let needed = side == .left ? Shape(a.rows, b.columns) : Shape(b.rows, a.rows)
        try b.requireShape(needed, operation, "B")
        try c.requireShape(needed, operation, "C")
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Scalar.symm(
                        left: side == .left, m: b.rows, n: b.columns, alpha: alpha,
                        a: pa.baseAddress!, lda: a.columns, b: pb.baseAddress!, ldb: b.columns,
                        beta: beta, c: pc.baseAddress!, ldc: b.columns)
                }
            }
        }
    }

    /// `Y ← α·X + Y`, elementwise over matrices of one shape (AXPY).
    @inlinable
    public static func axpy<Scalar: BLASScalar>(
        alpha: Scalar, _ x: Matrix<Scalar>, into y: inout Matrix<Scalar>
    ) throws(NGError) {
        try y.requireShape(x.shape, "BLAS.axpy", "Y")
        if x.isEmpty { return }
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                Scalar.axpy(n: px.count, alpha: alpha, x: px.baseAddress!, incx: 1,
                            y: py.baseAddress!, incy: 1)
            }
        }
    }

    /// `X ← α·X` (SCAL).
    @inlinable
    public static func scal<Scalar: BLASScalar>(_ alpha: Scalar, _ x: inout Matrix<Scalar>) {
        if x.isEmpty { return }
        x.withUnsafeMutableBufferPointer { px in
            Scalar.scal(n: px.count, alpha: alpha, x: px.baseAddress!, incx: 1)
        }
    }

    /// The Frobenius norm, computed by NRM2 without overflow (0 for an empty matrix).
    @inlinable
    public static func nrm2<Scalar: BLASScalar>(_ x: Matrix<Scalar>) -> Scalar {
        if x.isEmpty { return 0 }
        return x.withUnsafeBufferPointer { px in
            Scalar.nrm2(n: px.count, x: px.baseAddress!, incx: 1)
        }
    }
}

/// Copies the strict lower triangle of the n×n row-major block at `a` into its upper triangle,
/// tile by tile so that the column-wise writes of one tile stay in L1 (a plain double loop is
/// several times slower than the SYRK it follows at n = 1024).
@inlinable
func mirrorLowerTriangle<Scalar>(_ a: UnsafeMutablePointer<Scalar>, n: Int, ld: Int) {
    let tile = 64
    var rowStart = 0
    while rowStart < n {
        let rowEnd = Swift.min(rowStart + tile, n)
        var columnStart = 0
        while columnStart <= rowStart {
            let columnEnd = Swift.min(columnStart + tile, n)
            for i in rowStart..<rowEnd {
                let row = a + i * ld
                for j in columnStart..<Swift.min(columnEnd, i) { a[j * ld + i] = row[j] }
            }
            columnStart += tile
        }
        rowStart += tile
    }
}
