/// The weight gradient of a dense layer `Y = X·Wᵀ + b`, as one matrix with the bias as its last
/// column: `G̃ = dYᵀ·[X | 1]`, from its inputs X (B × n) and the gradients of the loss with
/// respect to its outputs dY (B × m). `dYᵀ·X` as tile products on all cores (one GEMM call
/// below `narrowInputs` inputs), and the column sums `dYᵀ·1` (`BLASScalar.columnSums`).
///
/// With `dY·F̂⁻¹` in place of dY it is NG+'s fused apply `F̂⁻¹·G̃ = (dY·F̂⁻¹)ᵀ·[X | 1]`
/// (docs/ALGORITHM.md §6), which replaces the weight-gradient product.
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

    /// `weightGradient` without its checks, for callers that validated the shapes. `dYᵀ·X` is
    /// made of tile products (`BLASScalar.tileProduct`, A read as dY's transpose), G's rows split
    /// over the cores where dY is the larger operand (more outputs than inputs), else G's
    /// columns, in units of 64 (a CNN's 3,136 inputs to 128 outputs: each thread then reads half
    /// of X and all of dY rather than all of X), X taken in blocks of at most 256 columns and
    /// 2¹⁵ values (`batchBlock(columns:)`) so that the block, which the product streams through
    /// once for every few rows of G, stays in cache (a language model's 2,048 rows of 128 inputs are
    /// 1 MB, a CNN's 128 rows of 3,136 inputs 1.6 MB), the batch's blocks added up in G (β = 1).
    /// Blocks of 256 × 256 (256 KB) took the language model's 512 → 128 layer 1.09 ms against
    /// 1.04 at 128 KB (fastest of 41 calls, 2 threads, Intel:
    /// docs/measurements/attention-memory-2026-12-07.md).
    /// The bias's column sums each block of dY's columns just after the first product that read
    /// it, while it is in cache: as a pass of its own (a GEMM with a ones vector), which read dY
    /// again, it took 6–15% of the language model's weight gradients (Intel, 2 threads:
    /// docs/measurements/dense-passes-2026-12-07.md).
    /// OpenBLAS's GEMM, which packs both operands first, measured 11–16% slower on the language
    /// model's layers (Zen 4, 2 threads: docs/measurements/cnn-by-sample-2026-12-06.md).
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package static func weightGradientUnchecked<Scalar: BLASScalar>(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, bias: Bool,
        into g: inout Matrix<Scalar>
    ) {
        let (n, m, batch) = (x.columns, dy.columns, x.rows)
        withViews(x, dy, mutating: &g) { x, dy, g in
            // G's bias column for dY's columns `columns`, from its rows `batchRows`.
            func biasSums(_ columns: Range<Int>, _ batchRows: Range<Int>) {
                guard bias else { return }
                Scalar.columnSums(
                    dy.base + batchRows.lowerBound * dy.leadingDimension + columns.lowerBound, rows: batchRows.count,
                    columns: columns.count, leadingDimension: dy.leadingDimension, accumulate: batchRows.lowerBound > 0,
                    into: g.base + columns.lowerBound * g.leadingDimension + n, stride: g.leadingDimension)
            }
            guard n >= narrowInputs else {
                // The tile products take fewer than 16 columns one at a time: OpenBLAS's small
                // kernels instead, on one thread (the DLRM's 13 inputs:
                // docs/measurements/small-dense-products-2026-12-07.md).
                OpenBLAS.withOneThreadPerCall { BLAS.gemm(dy, transposeA: true, x, into: g.columns(0..<n)) }
                biasSums(0..<m, 0..<batch)
                return
            }
            // Each thread reads all of one operand and its share of the other: G's rows split
            // dY, G's columns split X. The larger is split.
            guard n > m else {
                // A thread takes at least 16 rows of G and 2²⁰ multiply-adds.
                let minimumRows = Swift.max(16, (1 << 20) / Swift.max(1, n * batch))
                ParallelLoop.forEachChunk(m, minimumChunk: minimumRows) { rows in products(rows: rows, columns: 0..<n) }
                return
            }
            forEachColumnChunk(n, multiplyAddsPerColumn: m * batch) { columns in products(rows: 0..<m, columns: columns) }
            // G[rows, columns] += Σ_b dY[b, r]·X[b, j] (A(r, b) = dY[b, r]), X's columns in blocks
            // of `block` counted from column 0 and each block's batch rows in `batchBlock`s, the
            // blocks added up in G (β = 1): the same sums, block for block, however the columns
            // are split. The columns from 0 take the bias's sums too, a batch block's after its
            // first product.
            func products(rows: Range<Int>, columns: Range<Int>) {
                for start in stride(from: columns.lowerBound / block * block, to: columns.upperBound, by: block) {
                    let rowsABlock = batchBlock(columns: Swift.min(block, n - start))
                    let part = Swift.max(start, columns.lowerBound)..<Swift.min(start + block, columns.upperBound)
                    for first in stride(from: 0, to: batch, by: rowsABlock) {
                        Scalar.tileProduct(
                            rows: rows.count, columns: part.count, inner: first..<Swift.min(batch, first + rowsABlock),
                            a: dy.base + rows.lowerBound, rowStride: 1, innerStride: dy.leadingDimension,
                            b: x.base + part.lowerBound, ldb: x.leadingDimension, alpha: 1, beta: first == 0 ? 0 : 1,
                            into: g.base + rows.lowerBound * g.leadingDimension + part.lowerBound,
                            ldc: g.leadingDimension)
                        if part.lowerBound == 0 { biasSums(rows, first..<Swift.min(batch, first + rowsABlock)) }
                    }
                }
            }
        }
    }

    /// Inputs below which a dense layer's products with them as columns (this weight gradient,
    /// `Dense`'s input gradient) are one GEMM call rather than tile products, which take fewer
    /// than 16 columns one at a time.
    package static let narrowInputs = 16

    /// The columns of X in one block of the weight gradient's products, and the most batch
    /// rows a block.
    @usableFromInline static let block = 256

    /// The columns of G a thread takes at a time when the cores split G's columns.
    static let unit = 64

    /// `body` on consecutive chunks of `0..<columns` spread over the cores, in units of 64
    /// columns (the tile products' widest blocks) and at least 2²⁰ multiply-adds a chunk: how
    /// a product whose larger operand is split by columns (this weight gradient's X, a dense
    /// layer's input gradient's W) shares its columns.
    package static func forEachColumnChunk(
        _ columns: Int, multiplyAddsPerColumn: Int, _ body: (Range<Int>) -> Void
    ) {
        let minimumUnits = Swift.max(1, (1 << 20) / Swift.max(1, unit * multiplyAddsPerColumn))
        ParallelLoop.forEachChunk((columns + unit - 1) / unit, minimumChunk: minimumUnits) { units in
            body(units.lowerBound * unit..<Swift.min(columns, units.upperBound * unit))
        }
    }

    /// The batch rows of a block of `columns` columns of X: as many as keep the block at 2¹⁵
    /// values (128 KB of Float), at most `block`.
    @inlinable
    static func batchBlock(columns: Int) -> Int { Swift.min(block, (1 << 15) / Swift.max(1, columns)) }
}
