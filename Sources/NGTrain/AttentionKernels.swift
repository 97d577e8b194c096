import NGPlus

/// The passes of `CausalAttention` as one kernel each, reached through `NetworkScalar` so that
/// the loop over (sequence, head) pairs runs compiled for its scalar: the layer calls it once a
/// pass, and no generic dispatch happens per pair. The matrices are contiguous, laid out as the
/// layer's (see `CausalAttention`).
extension NetworkKernels {
    /// Forward: per pair, in blocks of `rowBlock` query rows, `S = Q·Kᵀ/√d` against the keys up
    /// to the block's last row, the causal softmax in place (P, kept in `probabilities`), and
    /// `O = P·V`; the pairs shared by the cores (`ParallelLoop`).
    static func causalAttention<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, sequences: Int, length t: Int, heads: Int, width: Int, rowBlock: Int,
        probabilities: UnsafeMutablePointer<Scalar>, into output: UnsafeMutablePointer<Scalar>
    ) {
        let d = width / heads
        let scale = 1 / Scalar(d).squareRoot()
        let x = MatrixView(base: x, rows: sequences * t, columns: 3 * width, leadingDimension: 3 * width)
        let p = MutableMatrixView(base: probabilities, rows: sequences * heads * t, columns: t, leadingDimension: t)
        let out = MutableMatrixView(base: output, rows: sequences * t, columns: width, leadingDimension: width)
        ParallelLoop.forEachChunk(sequences * heads, minimumChunk: 1) { pairs in
            for pair in pairs {
                let (s, h) = pair.quotientAndRemainder(dividingBy: heads)
                let (q, k, v) = headColumns(x.rows(s * t..<(s + 1) * t), head: h, width: d, of: width)
                let (scores, o) = (p.rows(pair * t..<(pair + 1) * t), out.rows(s * t..<(s + 1) * t))
                for first in stride(from: 0, to: t, by: rowBlock) {
                    let (rows, keys) = (first..<Swift.min(first + rowBlock, t), 0..<Swift.min(first + rowBlock, t))
                    let block = scores.rows(rows)
                    BLAS.gemm(q.rows(rows), k.rows(keys), transposeB: true, alpha: scale, into: block.columns(keys))
                    Scalar.causalSoftmax(
                        block.base, rows: rows.count, firstRow: first, size: keys.count,
                        leadingDimension: block.leadingDimension)
                    BLAS.gemm(block.columns(keys).readOnly, v.rows(keys), into: o.rows(rows).columns(h * d..<(h + 1) * d))
                }
            }
        }
    }

    /// Backward: per pair and block of query rows, `dV += Pᵀ·dO`, `dP = dO·Vᵀ` (in
    /// `scoreGradients`), `dS` by the softmax's gradient in place, `dQ = dS·K/√d`,
    /// `dK += dSᵀ·Q/√d`; dK and dV sum over the blocks.
    static func causalAttentionBackward<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, outputGradient dy: UnsafePointer<Scalar>, probabilities: UnsafePointer<Scalar>,
        scoreGradients: UnsafeMutablePointer<Scalar>, sequences: Int, length t: Int, heads: Int, width: Int,
        rowBlock: Int, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let d = width / heads
        let scale = 1 / Scalar(d).squareRoot()
        let x = MatrixView(base: x, rows: sequences * t, columns: 3 * width, leadingDimension: 3 * width)
        let dy = MatrixView(base: dy, rows: sequences * t, columns: width, leadingDimension: width)
        let p = MatrixView(base: probabilities, rows: sequences * heads * t, columns: t, leadingDimension: t)
        let dp = MutableMatrixView(base: scoreGradients, rows: sequences * heads * t, columns: t, leadingDimension: t)
        let dx = MutableMatrixView(base: dx, rows: sequences * t, columns: 3 * width, leadingDimension: 3 * width)
        ParallelLoop.forEachChunk(sequences * heads, minimumChunk: 1) { pairs in
            for pair in pairs {
                let (s, h) = pair.quotientAndRemainder(dividingBy: heads)
                let tokens = s * t..<(s + 1) * t
                let (q, k, v) = headColumns(x.rows(tokens), head: h, width: d, of: width)
                let (dq, dk, dv) = headColumns(dx.rows(tokens), head: h, width: d, of: width)
                let (probability, gradient) = (p.rows(pair * t..<(pair + 1) * t), dp.rows(pair * t..<(pair + 1) * t))
                let dO = dy.rows(tokens).columns(h * d..<(h + 1) * d)
                // The last block first: its keys are all T, so it writes every row of dK and dV
                // (β = 0) and the earlier blocks add to them, with no pass to zero them first.
                let lastBlock = (t - 1) / rowBlock * rowBlock
                for first in stride(from: lastBlock, through: 0, by: -rowBlock) {
                    let (rows, keys) = (first..<Swift.min(first + rowBlock, t), 0..<Swift.min(first + rowBlock, t))
                    let (pBlock, dsBlock) = (probability.rows(rows).columns(keys), gradient.rows(rows).columns(keys))
                    let beta: Scalar = first == lastBlock ? 0 : 1
                    BLAS.gemm(pBlock, transposeA: true, dO.rows(rows), beta: beta, into: dv.rows(keys)) // dV += Pᵀ·dO
                    BLAS.gemm(dO.rows(rows), v.rows(keys), transposeB: true, into: dsBlock)           // dP = dO·Vᵀ
                    Scalar.causalSoftmaxBackward(
                        pBlock.base, dsBlock.base, rows: rows.count, firstRow: first, size: keys.count,
                        leadingDimension: dsBlock.leadingDimension)
                    BLAS.gemm(dsBlock.readOnly, k.rows(keys), alpha: scale, into: dq.rows(rows))      // dQ = dS·K/√d
                    BLAS.gemm(                                                                       // dK += dSᵀ·Q/√d
                        dsBlock.readOnly, transposeA: true, q.rows(rows), alpha: scale, beta: beta, into: dk.rows(keys))
                }
            }
        }
    }

    /// Head h's Q, K and V columns (d wide) of token rows `[Q | K | V]` (`3·width` columns).
    @inline(__always)
    static func headColumns<View: ColumnSlicing>(
        _ tokens: View, head h: Int, width d: Int, of width: Int
    ) -> (View, View, View) {
        (tokens.columns(h * d..<(h + 1) * d), tokens.columns(width + h * d..<width + (h + 1) * d),
         tokens.columns(2 * width + h * d..<2 * width + (h + 1) * d))
    }
}

/// Matrix views whose columns can be sliced (read-only and mutable).
protocol ColumnSlicing {
    func columns(_ range: Range<Int>) -> Self
}

extension MatrixView: ColumnSlicing {}
extension MutableMatrixView: ColumnSlicing {}
