import NGKernels

/// One side of a Shampoo block: its factor (`L = Σ G·Gᵀ` rows × rows on the left,
/// `R = Σ Gᵀ·G` columns × columns on the right), the factor's inverse fourth root, what a step
/// stages of both, and the eigensolver that makes the root.
struct ShampooFactor<Scalar: BLASScalar>: Sendable {
    let side: Side
    var factor: Staged<Matrix<Scalar>>
    var root: Staged<Matrix<Scalar>>
    var solver: InverseRoot<Scalar>

    init(side: Side, order: Int) {
        self.side = side
        factor = Staged(Matrix(rows: order, columns: order))
        root = factor
        solver = InverseRoot(order: order)
    }

    /// Stages `β·F + weight·G·Gᵀ` (left) or `β·F + weight·Gᵀ·G` (right) of the block `rows` ×
    /// `columns` of `gradient`. Returns whether it is finite.
    mutating func stage(
        _ gradient: Matrix<Scalar>, rows: Range<Int>, columns: Range<Int>, weight: Scalar, decay: Scalar
    ) -> Bool {
        let side = side
        withViews(gradient, factor.current, mutating: &factor.staged) { g, f, staged in
            let block = g.rows(rows).columns(columns)
            staged.update(from: f)
            BLAS.gemm(
                block, transposeA: side == .right, block, transposeB: side == .left,
                alpha: weight, beta: decay, into: staged)
        }
        return factor.staged.withView { $0.isAllFinite }
    }

    /// The staged factor's inverse fourth root, ε relative to its largest eigenvalue. Returns
    /// whether it was made.
    mutating func stageRoot(epsilon: Double) -> Bool {
        solver.compute(factor.staged, power: 4, epsilon: epsilon, into: &root.staged)
    }

    /// The root a step applies: the staged one when it is `refreshing`, else the one in use.
    func root(refreshing: Bool) -> Matrix<Scalar> { refreshing ? root.staged : root.current }

    /// Puts the staged factor in use, and the staged root when the step made one.
    mutating func commit(refreshing: Bool) {
        factor.commit()
        if refreshing { root.commit() }
    }
}
