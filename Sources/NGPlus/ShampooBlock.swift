/// One block of a Shampoo parameter (its rows `rows`, columns `columns`): the factors
/// `L` (rows × rows) and `R` (columns × columns), their inverse fourth roots, and what a step
/// stages of them.
struct ShampooBlock<Scalar: BLASScalar>: Sendable {
    let rows: Range<Int>
    let columns: Range<Int>
    var left: ShampooFactor<Scalar>
    var right: ShampooFactor<Scalar>

    init(rows: Range<Int>, columns: Range<Int>) {
        self.rows = rows
        self.columns = columns
        left = ShampooFactor(side: .left, order: rows.count)
        right = ShampooFactor(side: .right, order: columns.count)
    }

    /// `L′ = β·L + (1 − β)·G·Gᵀ` and `R′ = β·R + (1 − β)·Gᵀ·G` of this block of the gradient
    /// (`L′ = L + G·Gᵀ` for β = 1). Returns whether they are finite.
    mutating func stageFactors(gradient: Matrix<Scalar>, decay: Scalar) -> Bool {
        let weight: Scalar = decay == 1 ? 1 : 1 - decay
        let leftFinite = left.stage(gradient, rows: rows, columns: columns, weight: weight, decay: decay)
        let rightFinite = right.stage(gradient, rows: rows, columns: columns, weight: weight, decay: decay)
        return leftFinite && rightFinite
    }

    /// Writes `scale · L^(−1/4)·M·R^(−1/4)` of this block of `moment` into the same block of
    /// `direction`, with the staged roots when `refreshing`, else those in use.
    func precondition(
        _ moment: Matrix<Scalar>, scale: Scalar, refreshing: Bool, workspace: inout Matrix<Scalar>,
        into direction: inout Matrix<Scalar>
    ) {
        let (rows, columns) = (rows, columns)
        let (leftRoot, rightRoot) = (left.root(refreshing: refreshing), right.root(refreshing: refreshing))
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
        left.commit(refreshing: refreshing)
        right.commit(refreshing: refreshing)
    }
}

/// A block's state: both factors, then both roots.
extension ShampooBlock: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(left.factor.current)
        writer.write(right.factor.current)
        writer.write(left.root.current)
        writer.write(right.root.current)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        try reader.read(into: &left.factor.current, what: "Shampoo left factor")
        try reader.read(into: &right.factor.current, what: "Shampoo right factor")
        try reader.read(into: &left.root.current, what: "Shampoo left root")
        try reader.read(into: &right.root.current, what: "Shampoo right root")
    }
}
