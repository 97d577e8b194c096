import NGPlus

/// The passes of `CausalAttention` as one kernel each, reached through `NetworkScalar` so that
/// the loop over (sequence, head) pairs runs compiled for its scalar: the layer calls it once a
/// pass, and no generic dispatch happens per pair. The pairs are shared by the cores
/// (`ParallelLoop`); each pair's products are `BLASScalar.tileProduct`s over blocks of
/// `rowBlock` query rows (or keys), each against the keys up to the block's last row only.
///
/// Layouts, per sequence s and head h (d = width/heads): Q, K and V are columns h·d…, width +
/// h·d… and 2·width + h·d… of the token rows `[Q | K | V]` (3·width apart); P is T × T, one
/// pair after another (the backward pass reads it). dP and dS (T × T) and a head's Kᵀ
/// (forward) or Vᵀ (backward, d × T) live only while their pair is worked on: one workspace
/// per thread (`slots` of each, a thread's after another), which stays in cache from pair to
/// pair — a slab per pair went to memory and back, 4 MB of dS a layer at the language model's
/// shapes. Entries of P and dS right of a block's last key are never written, nor read.
extension NetworkKernels {
    /// Forward: per block of query rows, `S = Q·Kᵀ/√d` against the keys up to the block's last
    /// row, the causal softmax in place (P), and `O = P·V`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func causalAttention<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, sequences: Int, length t: Int, heads: Int, width: Int, rowBlock: Int,
        probabilities: UnsafeMutablePointer<Scalar>, transposed: UnsafeMutablePointer<Scalar>, slots: Int,
        into output: UnsafeMutablePointer<Scalar>
    ) {
        let (d, tokenStride) = (width / heads, 3 * width)
        let scale = 1 / Scalar(d).squareRoot()
        forEachHead(sequences: sequences, length: t, heads: heads, width: width, slots: slots) {
            slot, pair, head, headOutput in
            let q = x + head
            let (k, v) = (q + width, q + 2 * width)
            let (p, keysT, o) = (probabilities + pair * t * t, transposed + slot * d * t, output + headOutput)
            Scalar.transpose(k, rows: t, columns: d, leadingDimension: tokenStride, into: keysT)
            for first in stride(from: 0, to: t, by: rowBlock) {
                let (rows, scores) = (Swift.min(rowBlock, t - first), p + first * t)
                let keys = first + rows
                Scalar.tileProduct(
                    rows: rows, columns: keys, inner: 0..<d, a: q + first * tokenStride, rowStride: tokenStride,
                    innerStride: 1, b: keysT, ldb: t, alpha: scale, beta: 0, into: scores, ldc: t)
                Scalar.causalSoftmax(scores, rows: rows, firstRow: first, size: keys, leadingDimension: t)
                Scalar.tileProduct(
                    rows: rows, columns: d, inner: 0..<keys, a: scores, rowStride: t, innerStride: 1, b: v,
                    ldb: tokenStride, alpha: 1, beta: 0, into: o + first * width, ldc: width)
            }
        }
    }

    /// Backward, in two sweeps per pair. By blocks of query rows: `dP = dO·Vᵀ` (in
    /// `scoreGradients`), `dS` by the softmax's gradient in place, `dQ = dS·K/√d`. By blocks of
    /// keys, over the query rows at or after the block's first key (P and dS are zero above
    /// the diagonal): `dV = Pᵀ·dO` and `dK = dSᵀ·Q/√d`, each written once.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func causalAttentionBackward<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, outputGradient dy: UnsafePointer<Scalar>, probabilities: UnsafePointer<Scalar>,
        scoreGradients: UnsafeMutablePointer<Scalar>, transposed: UnsafeMutablePointer<Scalar>, slots: Int,
        sequences: Int, length t: Int, heads: Int, width: Int, rowBlock: Int, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let (d, tokenStride) = (width / heads, 3 * width)
        let scale = 1 / Scalar(d).squareRoot()
        forEachHead(sequences: sequences, length: t, heads: heads, width: width, slots: slots) {
            slot, pair, head, headOutput in
            let (q, dq, dO) = (x + head, dx + head, dy + headOutput)
            let (k, v, dk, dv) = (q + width, q + 2 * width, dq + width, dq + 2 * width)
            let p = probabilities + pair * t * t
            let (ds, valuesT) = (scoreGradients + slot * t * t, transposed + slot * d * t)
            Scalar.transpose(v, rows: t, columns: d, leadingDimension: tokenStride, into: valuesT)
            for first in stride(from: 0, to: t, by: rowBlock) {
                let rows = Swift.min(rowBlock, t - first)
                let keys = first + rows
                Scalar.tileProduct(
                    rows: rows, columns: keys, inner: 0..<d, a: dO + first * width, rowStride: width, innerStride: 1,
                    b: valuesT, ldb: t, alpha: 1, beta: 0, into: ds + first * t, ldc: t)
                Scalar.causalSoftmaxBackward(
                    p + first * t, ds + first * t, rows: rows, firstRow: first, size: keys, leadingDimension: t)
                Scalar.tileProduct(
                    rows: rows, columns: d, inner: 0..<keys, a: ds + first * t, rowStride: t, innerStride: 1, b: k,
                    ldb: tokenStride, alpha: scale, beta: 0, into: dq + first * tokenStride, ldc: tokenStride)
            }
            for first in stride(from: 0, to: t, by: rowBlock) {
                // Keys first…; row x of P at column first + r, for the rows x ≥ first.
                let keys = Swift.min(rowBlock, t - first)
                Scalar.tileProduct(
                    rows: keys, columns: d, inner: first..<t, a: p + first, rowStride: 1, innerStride: t, b: dO,
                    ldb: width, alpha: 1, beta: 0, into: dv + first * tokenStride, ldc: tokenStride)
                Scalar.tileProduct(
                    rows: keys, columns: d, inner: first..<t, a: ds + first, rowStride: 1, innerStride: t, b: q,
                    ldb: tokenStride, alpha: scale, beta: 0, into: dk + first * tokenStride, ldc: tokenStride)
            }
        }
    }

    /// Calls `body` for every (sequence, head) pair, the pairs shared by at most `slots`
    /// threads, with the thread's workspace slot, the pair's index, the offset of its Q columns
    /// in the token rows `[Q | K | V]` and that of its columns in a `width`-wide output.
    @inline(__always)
    static func forEachHead(
        sequences: Int, length t: Int, heads: Int, width: Int, slots: Int,
        _ body: (_ slot: Int, _ pair: Int, _ head: Int, _ output: Int) -> Void
    ) {
        let d = width / heads
        ParallelLoop.forEachNumberedChunk(sequences * heads, minimumChunk: 1, maximumChunks: slots) { slot, pairs in
            for pair in pairs {
                let (s, h) = pair.quotientAndRemainder(dividingBy: heads)
                body(slot, pair, s * t * 3 * width + h * d, s * t * width + h * d)
            }
        }
    }

}
