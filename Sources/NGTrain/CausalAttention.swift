import Foundation
import NGPlus

/// Causal multi-head self-attention, the parameter-free core of a Transformer's attention
/// block: its input is the fused projection `[Q | K | V]` of every token (one row per token,
/// `B·T` rows of `3·width`: sequence s's token t is row `s·T + t`, as a `Dense(width → 3·width)`
/// produces it) and its output the heads' results side by side (`B·T × width`), for the output
/// projection `Dense(width → width)` that follows. Per sequence and head (`d = width/heads`):
/// `S = Q·Kᵀ/√d`, `P` = the row softmax of S over the tokens at or before each token (the
/// causal mask), `O = P·V`. Keeps P for backward.
///
/// The (sequence, head) pairs are shared among the cores, each pair's work done by one core
/// in blocks of `rowBlock` query rows: a block of rows i₀..<i₁ needs the keys 0..<i₁ only, so
/// the scores above the diagonal's blocks are never computed, and each block's GEMMs are small
/// enough (m·n·k ≤ `singleThreadedGEMMSize`) for OpenBLAS to run them on the calling thread.
/// One GEMM a head of 128 × 128 × 32 split over two OpenBLAS threads took longer than on one.
public final class CausalAttention<Scalar: NetworkScalar>: FlopCountedLayer {
    public let sequenceLength: Int
    public let heads: Int
    public let width: Int
    /// Query rows a block (see the type's note).
    public let rowBlock: Int
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    /// P of every sequence and head, T × T each, stacked: (B·heads·T) × T. Only the blocks
    /// the forward pass computes are written (the rest is never read).
    var probabilities = Matrix<Scalar>(rows: 0, columns: 0)
    /// dP, then dS, laid out as `probabilities`.
    var scoreGradients = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// The m·n·k of a GEMM that OpenBLAS computes on its calling thread: 65,536 times its
    /// default multithreading threshold of 4 (a larger GEMM is split over its threads).
    public static var singleThreadedGEMMSize: Int { 65_536 * 4 }

    /// - Parameter rowBlock: query rows a block (nil: the most whose GEMMs stay within
    ///   `singleThreadedGEMMSize`, at least 16; at most T).
    /// - Throws: `invalidArgument` for a size below 1, a width that the heads do not divide, or a
    ///   T × T score block larger than this machine's memory.
    public init(sequenceLength: Int, heads: Int, width: Int, rowBlock: Int? = nil) throws(NGError) {
        for (name, value) in [("sequenceLength", sequenceLength), ("heads", heads), ("width", width), ("rowBlock", rowBlock ?? 1)]
        where value < 1 || value > 1 << 20 {
            throw .invalidArgument(operation: .causalAttentionInit, argument: name, reason: "must be in 1...2²⁰, got \(value)")
        }
        guard width % heads == 0 else {
            throw .invalidArgument(
                operation: .causalAttentionInit, argument: "heads", reason: "\(heads) heads do not divide the width \(width)")
        }
        try MemoryRequirement.of(
            "one head's \(sequenceLength) × \(sequenceLength) attention scores",
            elements: Double(sequenceLength) * Double(sequenceLength), Scalar.self
        ).check(.causalAttentionInit, argument: "sequenceLength")
        self.sequenceLength = sequenceLength
        self.heads = heads
        self.width = width
        // At least 16 rows (or all T), so that a very long sequence still makes GEMMs, not
        // GEMVs; OpenBLAS then threads them itself, one pair's at a time.
        let fitting = Self.singleThreadedGEMMSize / (sequenceLength * (width / heads))
        self.rowBlock = Swift.min(sequenceLength, rowBlock ?? Swift.max(fitting, 16))
    }

    /// The width of one head.
    public var headWidth: Int { width / heads }

    /// The score entries a head computes for one sequence: each block of rows against the keys
    /// up to its last row.
    public var computedScores: Int {
        stride(from: 0, to: sequenceLength, by: rowBlock).reduce(0) { sum, first in
            let last = Swift.min(first + rowBlock, sequenceLength)
            return sum + (last - first) * last
        }
    }

    public var flops: LayerFlops {
        .attention(sequenceLength: sequenceLength, width: width, heads: heads, computedScores: computedScores)
    }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, 3 * width), .causalAttentionForward, "input")
        guard x.rows % sequenceLength == 0 else {
            throw .invalidArgument(
                operation: .causalAttentionForward, argument: "input",
                reason: "\(x.rows) token rows are not whole sequences of \(sequenceLength)")
        }
        let (t, d, sequences) = (sequenceLength, headWidth, x.rows / sequenceLength)
        let scale = 1 / Scalar(d).squareRoot()
        if probabilities.rows != sequences * heads * t {
            // P and its gradient for every sequence and head: 2·heads·T values per token row.
            try MemoryRequirement.of(
                "the attention probabilities of \(sequences) sequences and their gradients",
                elements: 2 * Double(x.rows) * Double(heads * t), Scalar.self
            ).check(.causalAttentionForward, argument: "input")
        }
        ensureShape(&output, x.rows, width)
        ensureShape(&probabilities, sequences * heads * t, t)
        ensureShape(&scoreGradients, sequences * heads * t, t)
        input = x
        let rowBlock = rowBlock
        x.withView { x in
            output.withMutableView { out in
                probabilities.withMutableView { p in
                    ParallelLoop.forEachChunk(sequences * heads, minimumChunk: 1) { pairs in
                        for pair in pairs {
                            let (s, h) = pair.quotientAndRemainder(dividingBy: heads)
                            let (q, k, v) = self.headColumns(x.rows(s * t..<(s + 1) * t), h)
                            let (scores, o) = (p.rows(pair * t..<(pair + 1) * t), out.rows(s * t..<(s + 1) * t))
                            for first in stride(from: 0, to: t, by: rowBlock) {
                                let (rows, keys) = (first..<Swift.min(first + rowBlock, t), 0..<Swift.min(first + rowBlock, t))
                                let block = scores.rows(rows)
                                BLAS.gemm(q.rows(rows), k.rows(keys), transposeB: true, alpha: scale, into: block.columns(keys))
                                Scalar.causalSoftmax(
                                    block.base, rows: rows.count, firstRow: first, size: keys.count,
                                    leadingDimension: block.leadingDimension)
                                BLAS.gemm(
                                    block.columns(keys).readOnly, v.rows(keys),
                                    into: o.rows(rows).columns(h * d..<(h + 1) * d))
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(Shape(input.rows, width), .causalAttentionBackward, "outputGradient")
        let (t, d, sequences) = (sequenceLength, headWidth, input.rows / sequenceLength)
        let scale = 1 / Scalar(d).squareRoot()
        let rowBlock = rowBlock
        ensureShape(&inputGradient, input.rows, 3 * width)
        withViews(input, dy, mutating: &inputGradient) { x, dy, dx in
            probabilities.withView { p in scoreGradients.withMutableView { dp in
                ParallelLoop.forEachChunk(sequences * heads, minimumChunk: 1) { pairs in
                    for pair in pairs {
                        let (s, h) = pair.quotientAndRemainder(dividingBy: heads)
                        let tokens = s * t..<(s + 1) * t
                        let (q, k, v) = self.headColumns(x.rows(tokens), h)
                        let (dq, dk, dv) = self.headColumns(dx.rows(tokens), h)
                        let (probability, gradient) = (p.rows(pair * t..<(pair + 1) * t), dp.rows(pair * t..<(pair + 1) * t))
                        let dO = dy.rows(tokens).columns(h * d..<(h + 1) * d)
                        // dK and dV sum over the blocks of query rows.
                        dk.zero()
                        dv.zero()
                        for first in stride(from: 0, to: t, by: rowBlock) {
                            let (rows, keys) = (first..<Swift.min(first + rowBlock, t), 0..<Swift.min(first + rowBlock, t))
                            let (pBlock, dsBlock) = (probability.rows(rows).columns(keys), gradient.rows(rows).columns(keys))
                            BLAS.gemm(pBlock, transposeA: true, dO.rows(rows), beta: 1, into: dv.rows(keys))   // dV += Pᵀ·dO
                            BLAS.gemm(dO.rows(rows), v.rows(keys), transposeB: true, into: dsBlock)          // dP = dO·Vᵀ
                            Scalar.causalSoftmaxBackward(
                                pBlock.base, dsBlock.base, rows: rows.count, firstRow: first, size: keys.count,
                                leadingDimension: dsBlock.leadingDimension)
                            BLAS.gemm(dsBlock.readOnly, k.rows(keys), alpha: scale, into: dq.rows(rows))     // dQ = dS·K/√d
                            BLAS.gemm(                                                                      // dK += dSᵀ·Q/√d
                                dsBlock.readOnly, transposeA: true, q.rows(rows), alpha: scale, beta: 1, into: dk.rows(keys))
                        }
                    }
                }
            } }
        }
        return inputGradient
    }

    /// Head h's Q, K and V columns of `tokens` (`[Q | K | V]`, `3·width` columns).
    func headColumns<View: ColumnSlicing>(_ tokens: View, _ h: Int) -> (View, View, View) {
        let (d, width) = (headWidth, width)
        return (tokens.columns(h * d..<(h + 1) * d), tokens.columns(width + h * d..<width + (h + 1) * d),
                tokens.columns(2 * width + h * d..<2 * width + (h + 1) * d))
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
    }
}

/// Matrix views whose columns can be sliced (read-only and mutable).
protocol ColumnSlicing {
    func columns(_ range: Range<Int>) -> Self
}

extension MatrixView: ColumnSlicing {}
extension MutableMatrixView: ColumnSlicing {}
