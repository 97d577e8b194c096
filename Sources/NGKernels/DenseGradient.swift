/// The weight gradient of a dense layer `Y = X·Wᵀ + b`, as one matrix with the bias as its last
/// column: `G̃ = dYᵀ·[X | 1]`, from its inputs X (B × n) and the gradients of the loss with
/// respect to its outputs dY (B × m). One GEMM for `dYᵀ·X`; the column sums `dYᵀ·1` by GEMMs
/// of a block of rows each against a column of ones on the stack (1 KB: 256 rows in Float,
/// 128 in Double), where one AXPY a row made B calls.
///
/// With `dY·F̂⁻¹` in place of dY it is NG+'s fused apply `F̂⁻¹·G̃ = (dY·F̂⁻¹)ᵀ·[X | 1]`
/// (docs/ALGORITHM.md §6), which replaces the weight-gradient GEMM.
public enum DenseGradient {
    /// Writes `G̃` (m × (n + 1) with a bias, m × n without) into `g`, allocating nothing.
    /// - Throws: `emptyMatrix`, `shapeMismatch`; `g` is untouched on a throw.
    @inlinable
    public static func weightGradient<Scalar: BLASScalar>(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, bias: Bool,
        into g: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.denseGradientWeightGradient
        try x.requireNonEmpty(operation, "inputs")
        try dy.requireNonEmpty(operation, "outputGradients")
        try dy.requireShape(Shape(x.rows, dy.columns), operation, "outputGradients")
        let (n, m) = (x.columns, dy.columns)
        let width = n + (bias ? 1 : 0)
        try g.requireShape(Shape(m, width), operation, "G")
        weightGradientUnchecked(inputs: x, outputGradients: dy, bias: bias, into: &g)
    }

    /// `weightGradient` without its checks, for callers that validated the shapes.
    @inlinable
    package static func weightGradientUnchecked<Scalar: BLASScalar>(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, bias: Bool,
        into g: inout Matrix<Scalar>
    ) {
        let (batch, n) = (x.rows, x.columns)
        withViews(x, dy, mutating: &g) { x, dy, g in
            BLAS.gemm(dy, transposeA: true, x, into: g.columns(0..<n))
            guard bias else { return }
            let biasColumn = g.columns(n..<n + 1)
            let block = 1024 / MemoryLayout<Scalar>.stride
            withUnsafeTemporaryAllocation(of: Scalar.self, capacity: block) { ones in
                ones.initialize(repeating: 1)
                for first in stride(from: 0, to: batch, by: block) {
                    let rows = first..<Swift.min(first + block, batch)
                    let column = MatrixView(base: UnsafePointer(ones.baseAddress!), rows: rows.count, columns: 1, leadingDimension: 1)
                    BLAS.gemm(dy.rows(rows), transposeA: true, column, beta: first == 0 ? 0 : 1, into: biasColumn)
                }
            }
        }
    }
}
