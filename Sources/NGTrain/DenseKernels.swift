import NGPlus

/// A dense layer's forward product, specialized for its scalar (`Dense` runs unspecialized, and
/// the path taken must not change what the runtime is asked for from one batch to another).
extension NetworkKernels {
    /// `Y = X·Wᵀ + b` for a dense layer's parameter `W̃ = [W | b]` (outputs × (inputs + 1)),
    /// X batch × inputs, Y batch × outputs. Y's rows are cut into parts (`denseForwardParts`,
    /// so the same bits on any number of threads; one part below `denseSingleCallLimit`
    /// multiply-adds) that the cores take one at a time, OpenBLAS on one thread a call, and each
    /// part starts its rows as the bias — one strided AXPY into its first row, then copies that
    /// double the rows filled — and adds X·Wᵀ with a GEMM (β = 1) while they are in its cache:
    /// no pass that zeroes Y, no AXPY call a row, and no wait for OpenBLAS's sleeping thread.
    /// With a `residual` R (batch × outputs, a residual connection's shortcut) the result is
    /// `X·Wᵀ + b + R`: a part starts its rows as R's plus the bias (a copy and a rank-1 update
    /// in cache) — the sum rounded as `(R + b) + X·Wᵀ`, within an ulp of each value of
    /// `R + (X·Wᵀ + b)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func denseForward<Scalar: NetworkScalar>(
        _ x: MatrixView<Scalar>, weight w: MatrixView<Scalar>, adding residual: MatrixView<Scalar>? = nil,
        into y: MutableMatrixView<Scalar>
    ) {
        let (batch, n, m) = (x.rows, x.columns, y.columns)
        let bias = w.columns(n..<n + 1)
        let parts = batch * n * m < denseSingleCallLimit ? 1 : denseForwardParts(batch)
        ConcurrentCalls.forEach(parts, work: Double(batch * n * m)) { part in
            let rows = ConcurrentCalls.range(ofPart: part, of: parts, length: batch)
            let block = y.rows(rows)
            if let residual {
                block.update(from: residual.rows(rows))
                BLAS.addToEveryRow(bias, transposed: true, of: block)
            } else {
                block.rows(0..<1).zero()
                BLAS.axpy(1, bias, into: block.rows(0..<1))
                var filled = 1
                while filled < rows.count {
                    let count = Swift.min(filled, rows.count - filled)
                    block.rows(filled..<filled + count).update(from: block.rows(0..<count).readOnly)
                    filled += count
                }
            }
            BLAS.gemm(x.rows(rows), w.columns(0..<n), transposeB: true, beta: 1, into: block)
        }
    }

    /// The parts `denseForward` cuts a batch into (a function of the batch alone, so the same
    /// bits on any number of threads): two from 128 rows, then one for every 1,024 rows, at most
    /// 8. Each part is a GEMM call that packs all of W again: the language model's 2,048 rows
    /// in eight parts of 256 took its dense layers' forward passes 6% longer than in two parts
    /// (Intel, 2 threads: docs/measurements/dense-passes-2026-12-07.md).
    static func denseForwardParts(_ batch: Int) -> Int {
        batch < 128 ? 1 : Swift.min(8, Swift.max(2, batch / 1024))
    }

    /// The multiply-adds below which `denseForward` makes one GEMM call on the calling thread,
    /// OpenBLAS on one thread: OpenBLAS splits a GEMM of 2¹⁸ or more over its threads, and
    /// waking the second costs more than such a product (the MLP's 256 → 10 layer at batch
    /// 128: 18.5 µs on OpenBLAS's threads, 13.9 on one; Zen 4, 2 threads). Row products
    /// (`BLASScalar.rowProducts`) run 3–21 times slower than OpenBLAS's small kernels on rows
    /// shorter than 128 values (the DLRM's 13 → 64 layer: 67 against 3.1 µs;
    /// docs/measurements/small-dense-products-2026-12-07.md).
    static var denseSingleCallLimit: Int { 1 << 19 }
}
