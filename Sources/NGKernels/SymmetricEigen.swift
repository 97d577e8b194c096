/// Eigen-decomposition of a symmetric matrix by LAPACK's divide and conquer (SYEVD), for
/// diagnostics and tests: condition numbers, spectra of GFIMs. Allocates its workspace per
/// call; not for a hot path.
public enum SymmetricEigen {
    /// Eigenvalues in ascending order and, when `vectors` is true, the matching unit
    /// eigenvectors as the **rows** of the returned matrix. Only the lower triangle of `a` is
    /// read.
    /// - Throws: `emptyMatrix`, `shapeMismatch` (not square), `nonFinite`, `lapackFailure`
    ///   when the algorithm fails to converge.
    public static func decompose<Scalar: BLASScalar>(
        _ a: Matrix<Scalar>, vectors: Bool = true
    ) throws(NGError) -> (values: [Scalar], vectors: Matrix<Scalar>?) {
        KernelFitWarning.emitOnce()
        let operation = NGError.Operation.symmetricEigenDecompose
        try a.requireNonEmpty(operation, "A")
        try a.requireShape(Shape(a.rows, a.rows), operation, "A")
        try a.requireFinite(operation, "A")
        let n = a.rows
        var work = a
        var values = [Scalar](repeating: 0, count: n)
        var sizeQuery = [Scalar](repeating: 0, count: 1)
        var intQuery = [Int32](repeating: 0, count: 1)
        _ = work.withMutableView { a in
            Scalar.syevd(
                vectors: vectors, n: n, a: a.base, lda: a.leadingDimension, w: &values,
                work: &sizeQuery, lwork: -1, iwork: &intQuery, liwork: -1)
        }
        var scalarWork = [Scalar](repeating: 0, count: Swift.max(1, Int(sizeQuery[0])))
        var intWork = [Int32](repeating: 0, count: Swift.max(1, Int(intQuery[0])))
        let info = work.withMutableView { a in
            Scalar.syevd(
                vectors: vectors, n: n, a: a.base, lda: a.leadingDimension, w: &values,
                work: &scalarWork, lwork: scalarWork.count, iwork: &intWork, liwork: intWork.count)
        }
        guard info == 0 else {
            throw .lapackFailure(operation: operation, routine: "syevd", info: info)
        }
        return (values, vectors ? work : nil)
    }

    /// The 2-norm condition number `λ_max / λ_min` of a symmetric positive definite matrix,
    /// in Double; infinity when the smallest eigenvalue is not positive.
    public static func conditionNumber<Scalar: BLASScalar>(
        of a: Matrix<Scalar>
    ) throws(NGError) -> Double {
        let values = try decompose(a, vectors: false).values
        let smallest = Double(values.first!)
        let largest = Double(values.last!)
        return smallest > 0 ? largest / smallest : .infinity
    }
}
