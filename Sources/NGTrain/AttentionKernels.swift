import NGPlus

/// The passes of `CausalAttention` as one kernel each, reached through `NetworkScalar` so that
/// the loop over (sequence, head) pairs runs compiled for its scalar: the layer calls it once a
/// pass, and no generic dispatch happens per pair. The pairs are shared by the cores
/// (`ParallelLoop`); each pair's products are `BLASScalar.tileProduct`s over blocks of
/// `rowBlock` query rows (or keys), each against the keys up to the block's last row only.
///
/// Layouts, per sequence s and head h (d = width/heads): Q, K and V are columns h·d…, width +
/// h·d… and 2·width + h·d… of the token rows `[Q | K | V]` (3·width apart). P is T × T a pair:
/// kept for the backward pass, one pair after another (`kept`), or made again by it in the
/// thread's workspace — by the same products and the same softmax, so the same bits. dP and dS
/// (T × T), a head's Kᵀ and Vᵀ (d × T each) and P when it is not kept live only while their pair
/// is worked on: one workspace per thread (`slots` of each, a thread's after another), which
/// stays in cache from pair to pair. Entries of P and dS right of a block's last key are never
/// written, nor read.
extension NetworkKernels {
    /// Forward: per block of query rows, `S = Q·Kᵀ/√d` against the keys up to the block's last
    /// row, the causal softmax in place (P, in `kept` or the thread's workspace), and `O = P·V`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func causalAttention<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, sequences: Int, length t: Int, heads: Int, width: Int, rowBlock: Int,
        kept: UnsafeMutablePointer<Scalar>?, workspace: AttentionWorkspace<Scalar>, into output: UnsafeMutablePointer<Scalar>
    ) {
        forEachHead(sequences: sequences, length: t, heads: heads, width: width, slots: workspace.slots) {
            slot, pair, head, headOutput in
            let scratch = PairScratch(x + head, length: t, width: width, heads: heads, slot: slot, workspace)
            let (v, o) = (scratch.q + 2 * width, output + headOutput)
            let p = kept.map { $0 + pair * t * t } ?? scratch.p
            Scalar.transpose(
                scratch.q + width, rows: t, columns: scratch.d, leadingDimension: scratch.tokenStride, into: scratch.keysT)
            for first in stride(from: 0, to: t, by: rowBlock) {
                let rows = Swift.min(rowBlock, t - first)
                scratch.probabilities(first, rows, at: p + first * t)
                Scalar.tileProduct(
                    rows: rows, columns: scratch.d, inner: 0..<first + rows, a: p + first * t, rowStride: t,
                    innerStride: 1, b: v, ldb: scratch.tokenStride, alpha: 1, beta: 0, into: o + first * width, ldc: width)
            }
        }
    }

    /// Backward, in two sweeps per pair. By blocks of query rows: P made again when it was not
    /// kept (as forward), `dP = dO·Vᵀ`, `dS` by the softmax's gradient in place, `dQ = dS·K/√d`.
    /// By blocks of keys, over the query rows at or after the block's first key (P and dS are
    /// zero above the diagonal): `dV = Pᵀ·dO` and `dK = dSᵀ·Q/√d`, each written once.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func causalAttentionBackward<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, outputGradient dy: UnsafePointer<Scalar>, kept: UnsafePointer<Scalar>?,
        workspace: AttentionWorkspace<Scalar>, sequences: Int, length t: Int, heads: Int, width: Int, rowBlock: Int,
        into dx: UnsafeMutablePointer<Scalar>
    ) {
        forEachHead(sequences: sequences, length: t, heads: heads, width: width, slots: workspace.slots) {
            slot, pair, head, headOutput in
            let scratch = PairScratch(x + head, length: t, width: width, heads: heads, slot: slot, workspace)
            let (d, tokenStride, scale, q) = (scratch.d, scratch.tokenStride, scratch.scale, scratch.q)
            let (k, v, dq, dO) = (q + width, q + 2 * width, dx + head, dy + headOutput)
            let (dk, dv, ds, valuesT) = (dq + width, dq + 2 * width, scratch.scoreGradients, scratch.keysT + d * t)
            let p = kept.map { $0 + pair * t * t } ?? UnsafePointer(scratch.p)
            if kept == nil {
                Scalar.transpose(k, rows: t, columns: d, leadingDimension: tokenStride, into: scratch.keysT)
            }
            Scalar.transpose(v, rows: t, columns: d, leadingDimension: tokenStride, into: valuesT)
            for first in stride(from: 0, to: t, by: rowBlock) {
                let rows = Swift.min(rowBlock, t - first)
                let keys = first + rows
                if kept == nil { scratch.probabilities(first, rows, at: scratch.p + first * t) }
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

/// The per-thread workspaces of attention's passes, `slots` of each, a thread's after another:
/// P (T × T, allocated only when P is not kept), dP then dS (T × T) and a head's Kᵀ and Vᵀ
/// (2·d × T).
struct AttentionWorkspace<Scalar: NetworkScalar> {
    let probabilities: UnsafeMutablePointer<Scalar>
    let scoreGradients: UnsafeMutablePointer<Scalar>
    let transposed: UnsafeMutablePointer<Scalar>
    let slots: Int
}

/// One (sequence, head) pair's inputs and its thread's workspaces, and the probabilities both
/// passes make from them.
struct PairScratch<Scalar: NetworkScalar> {
    /// The pair's Q (its K and V follow, `width` and `2·width` columns on).
    let q: UnsafePointer<Scalar>
    /// The thread's T × T block of P, used when P is not kept.
    let p: UnsafeMutablePointer<Scalar>
    /// The thread's T × T block of dP, then dS.
    let scoreGradients: UnsafeMutablePointer<Scalar>
    /// The thread's Kᵀ (d × T), then its Vᵀ.
    let keysT: UnsafeMutablePointer<Scalar>
    let t: Int
    let d: Int
    let tokenStride: Int
    let scale: Scalar

    @inline(__always)
    init(_ q: UnsafePointer<Scalar>, length t: Int, width: Int, heads: Int, slot: Int, _ workspace: AttentionWorkspace<Scalar>) {
        let d = width / heads
        (self.q, self.t, self.d, tokenStride) = (q, t, d, 3 * width)
        p = workspace.probabilities + slot * t * t
        scoreGradients = workspace.scoreGradients + slot * t * t
        keysT = workspace.transposed + slot * 2 * d * t
        scale = 1 / Scalar(d).squareRoot()
    }

    /// Rows `first..<first + rows` of P into `target` (rows T apart), from the keys up to the
    /// block's last row: `S = Q·Kᵀ/√d` (Kᵀ in `keysT`) and the causal softmax in place. The
    /// same calls in both passes, so the same bits.
    @inline(__always)
    func probabilities(_ first: Int, _ rows: Int, at target: UnsafeMutablePointer<Scalar>) {
        let keys = first + rows
        Scalar.tileProduct(
            rows: rows, columns: keys, inner: 0..<d, a: q + first * tokenStride, rowStride: tokenStride, innerStride: 1,
            b: keysT, ldb: t, alpha: scale, beta: 0, into: target, ldc: t)
        Scalar.causalSoftmax(target, rows: rows, firstRow: first, size: keys, leadingDimension: t)
    }
}
