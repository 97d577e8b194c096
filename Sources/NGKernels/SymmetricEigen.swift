/// Eigen-decomposition of a symmetric matrix by LAPACK's divide and conquer (SYEVD), for
/// diagnostics and tests: condition numbers, spectra of GFIMs. Allocates its workspace per
/// call; not for a hot path (`InverseRoot` keeps one, `SymmetricEigenWorkspace`).
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
        var work = a
        var solver = SymmetricEigenWorkspace<Scalar>(order: a.rows, vectors: vectors)
        let info = work.withMutableView { solver.decompose($0, vectors: vectors) }
        guard info == 0 else {
            throw .lapackFailure(operation: operation, routine: "syevd", info: info)
        }
        let values = Array(solver.values.prefix(a.rows))
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
