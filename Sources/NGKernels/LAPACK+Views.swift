/// The Cholesky routines of LAPACKE on square views (row-major, lower triangle), for callers
/// that validated their matrices. Each returns LAPACK's `info`: 0 on success, the order of a
/// failing leading minor, or minus the index of a rejected argument.
@usableFromInline
package enum LAPACK {
    /// The Cholesky factor L of `a` (`A = L·Lᵀ`) in its lower triangle (POTRF).
    @inlinable
    package static func potrf<Scalar: BLASScalar>(_ a: MutableMatrixView<Scalar>) -> Int {
        precondition(a.rows == a.columns, "POTRF of a non-square view")
        return Scalar.potrf(n: a.rows, a: a.base, lda: a.leadingDimension)
    }

    /// From the factor left by `potrf`, the lower triangle of `A⁻¹` in place (POTRI; up to
    /// order `ElementwiseKernels.smallCholeskyInverseOrder` on the calling thread, without
    /// OpenBLAS's thread pool).
    @inlinable
    package static func potri<Scalar: BLASScalar>(_ a: MutableMatrixView<Scalar>) -> Int {
        precondition(a.rows == a.columns, "POTRI of a non-square view")
        if a.rows <= ElementwiseKernels.smallCholeskyInverseOrder {
            return Scalar.smallCholeskyInverse(n: a.rows, a: a.base, lda: a.leadingDimension)
        }
        return Scalar.potri(n: a.rows, a: a.base, lda: a.leadingDimension)
    }

    /// `body` — Cholesky routines on a matrix of order `order` — with OpenBLAS on one thread
    /// below order 512, where they run faster so: on Zen 4 a refresh of order 128 took 0.15 ms
    /// on one thread against 0.37 on two, order 290 1.0 against 1.4 ms; at 577 they tie, at
    /// 1,024 two threads win, 12.9 against 16.7 ms (docs/measurements/shampoo-roots-2026-12-06.md).
    @inlinable
    package static func onFittingThreads<Result>(order: Int, _ body: () -> Result) -> Result {
        order < 512 ? OpenBLAS.withOneThreadPerCall(body) : body()
    }

    /// Solves `X·A = B` in place for the rows of `b`, from the factor `l` of A (POTRS).
    @inlinable
    package static func potrs<Scalar: BLASScalar>(_ l: MatrixView<Scalar>, _ b: MutableMatrixView<Scalar>) -> Int {
        precondition(l.rows == l.columns && b.columns == l.rows, "POTRS views of incompatible shapes")
        return Scalar.potrs(n: l.rows, nrhs: b.rows, a: l.base, lda: l.leadingDimension, b: b.base, ldb: b.leadingDimension)
    }
}

extension MatrixView {
    /// `(max Lᵢᵢ / min Lᵢᵢ)²` of a Cholesky factor in the lower triangle of a square view: a
    /// lower bound on the 2-norm condition number of `L·Lᵀ`, in O(n) (the largest eigenvalue is
    /// at least the largest `Lᵢᵢ²`, the smallest at most the smallest).
    @inlinable
    package var choleskyConditionEstimate: Double {
        precondition(rows == columns && rows > 0, "the diagonal of an empty or non-square view")
        var (smallest, largest) = (Double.infinity, 0.0)
        for i in 0..<rows {
            let value = Double(self[i, i])
            smallest = Swift.min(smallest, value)
            largest = Swift.max(largest, value)
        }
        let ratio = largest / smallest
        return ratio * ratio
    }

    /// The largest diagonal entry of a square view (`max|F|` when F is positive semi-definite).
    @inlinable
    package var largestDiagonal: Double {
        precondition(rows == columns, "the diagonal of a non-square view")
        var largest = 0.0
        for i in 0..<rows { largest = Swift.max(largest, Double(self[i, i])) }
        return largest
    }
}

extension MutableMatrixView {
    /// `A ← A + value·I` for a square view.
    @inlinable
    package func addToDiagonal(_ value: Scalar) {
        precondition(rows == columns, "the diagonal of a non-square view")
        for i in 0..<rows { base[i * leadingDimension + i] += value }
    }

    /// Copies the strict lower triangle of a square view into its upper triangle.
    @inlinable
    package func mirrorLowerTriangle() {
        precondition(rows == columns, "the triangle of a non-square view")
        Scalar.mirrorLowerTriangle(base, n: rows, ld: leadingDimension)
    }
}
