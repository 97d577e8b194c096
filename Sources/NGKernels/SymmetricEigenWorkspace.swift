/// LAPACK's divide-and-conquer eigensolver (SYEVD) for symmetric matrices of one order, with
/// its workspaces sized once by LAPACK's own query: a call allocates nothing.
struct SymmetricEigenWorkspace<Scalar: BLASScalar>: Sendable {
    let order: Int
    /// Eigenvalues in ascending order after `decompose`.
    var values: [Scalar]
    var work: [Scalar]
    var integerWork: [Int32]

    init(order: Int, vectors: Bool = true) {
        self.order = order
        var probeValues = [Scalar](repeating: 0, count: Swift.max(order, 1))
        var sizeQuery: [Scalar] = [0]
        var integerQuery: [Int32] = [0]
        var probe = Matrix<Scalar>(rows: Swift.max(order, 1), columns: Swift.max(order, 1))
        _ = probe.withMutableView { a in
            Scalar.syevd(
                vectors: vectors, n: a.rows, a: a.base, lda: a.leadingDimension, w: &probeValues,
                work: &sizeQuery, lwork: -1, iwork: &integerQuery, liwork: -1)
        }
        values = probeValues
        work = Array(repeating: 0, count: Swift.max(1, Int(sizeQuery[0])))
        integerWork = Array(repeating: 0, count: Swift.max(1, Int(integerQuery[0])))
    }

    /// Eigenvalues into `values` and, when `vectors`, eigenvector j as **row** j of `a`, in
    /// place (only a's lower triangle is read). Returns LAPACK's `info` (0: converged).
    mutating func decompose(_ a: MutableMatrixView<Scalar>, vectors: Bool = true) -> Int {
        Scalar.syevd(
            vectors: vectors, n: order, a: a.base, lda: a.leadingDimension, w: &values, work: &work,
            lwork: work.count, iwork: &integerWork, liwork: integerWork.count)
    }
}
