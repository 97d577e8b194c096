/// One block of a Shampoo parameter (its rows `rows`, columns `columns`): the factors
/// `L` (rows × rows) and `R` (columns × columns), their inverse fourth roots, and what a step
/// stages of them.
struct ShampooBlock<Scalar: BLASScalar>: Sendable {
    let rows: Range<Int>
    let columns: Range<Int>
    var left: Matrix<Scalar>
    var right: Matrix<Scalar>
    var stagedLeft: Matrix<Scalar>
    var stagedRight: Matrix<Scalar>
    var leftRoot: Matrix<Scalar>
    var rightRoot: Matrix<Scalar>
    var stagedLeftRoot: Matrix<Scalar>
    var stagedRightRoot: Matrix<Scalar>
    var leftSolver: InverseRoot<Scalar>
    var rightSolver: InverseRoot<Scalar>

    init(rows: Range<Int>, columns: Range<Int>) {
        self.rows = rows
        self.columns = columns
        left = Matrix(rows: rows.count, columns: rows.count)
        right = Matrix(rows: columns.count, columns: columns.count)
        (stagedLeft, leftRoot, stagedLeftRoot) = (left, left, left)
        (stagedRight, rightRoot, stagedRightRoot) = (right, right, right)
        leftSolver = InverseRoot(order: rows.count)
        rightSolver = InverseRoot(order: columns.count)
    }

    /// `L′ = β·L + (1 − β)·G·Gᵀ` and `R′ = β·R + (1 − β)·Gᵀ·G` of this block of the gradient
    /// (`L′ = L + G·Gᵀ` for β = 1). Returns whether they are finite.
    mutating func stageFactors(gradient: Matrix<Scalar>, decay: Scalar) -> Bool {
        let weight: Scalar = decay == 1 ? 1 : 1 - decay
        let (rows, columns) = (rows, columns)
        withViews(gradient, left, mutating: &stagedLeft) { g, l, staged in
            let block = g.rows(rows).columns(columns)
            staged.update(from: l)
            BLAS.gemm(block, block, transposeB: true, alpha: weight, beta: decay, into: staged)
        }
        withViews(gradient, right, mutating: &stagedRight) { g, r, staged in
            let block = g.rows(rows).columns(columns)
            staged.update(from: r)
            BLAS.gemm(block, transposeA: true, block, alpha: weight, beta: decay, into: staged)
        }
        return stagedLeft.withView { $0.isAllFinite } && stagedRight.withView { $0.isAllFinite }
    }

    /// The inverse fourth roots of the staged factors. Returns whether both were made.
    mutating func stageRoots(epsilon: Double) -> Bool {
        let leftMade = leftSolver.compute(stagedLeft, power: 4, epsilon: epsilon, into: &stagedLeftRoot)
        let rightMade = rightSolver.compute(stagedRight, power: 4, epsilon: epsilon, into: &stagedRightRoot)
        return leftMade && rightMade
    }

    /// Writes `scale · L^(−1/4)·M·R^(−1/4)` of this block of `moment` into the same block of
    /// `direction`, with the staged roots when `refreshing`, else those in use.
    func precondition(
        _ moment: Matrix<Scalar>, scale: Scalar, refreshing: Bool, workspace: inout Matrix<Scalar>,
        into direction: inout Matrix<Scalar>
    ) {
        let (rows, columns) = (rows, columns)
        let (leftRoot, rightRoot) = refreshing ? (stagedLeftRoot, stagedRightRoot) : (self.leftRoot, self.rightRoot)
        withViews(leftRoot, moment, mutating: &workspace) { l, m, w in
            BLAS.gemm(l, m.rows(rows).columns(columns), into: w.rows(0..<rows.count).columns(0..<columns.count))
        }
        withViews(workspace, rightRoot, mutating: &direction) { w, r, d in
            BLAS.gemm(
                w.rows(0..<rows.count).columns(0..<columns.count), r, alpha: scale, into: d.rows(rows).columns(columns))
        }
    }

    /// Puts the staged factors in use, and the staged roots when the step made them.
    mutating func commit(refreshing: Bool) {
        swap(&left, &stagedLeft)
        swap(&right, &stagedRight)
        if refreshing {
            swap(&leftRoot, &stagedLeftRoot)
            swap(&rightRoot, &stagedRightRoot)
        }
    }

    func encode(to writer: inout StateWriter) {
        writer.write(left)
        writer.write(right)
        writer.write(leftRoot)
        writer.write(rightRoot)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        try reader.read(into: &left, what: "Shampoo left factor")
        try reader.read(into: &right, what: "Shampoo right factor")
        try reader.read(into: &leftRoot, what: "Shampoo left root")
        try reader.read(into: &rightRoot, what: "Shampoo right root")
    }
}
