import Foundation
import NGPlus

/// Causal multi-head self-attention, the parameter-free core of a Transformer's attention
/// block: its input is the fused projection `[Q | K | V]` of every token (one row per token,
/// `B·T` rows of `3·width`: sequence s's token t is row `s·T + t`, as a `Dense(width → 3·width)`
/// produces it) and its output the heads' results side by side (`B·T × width`), for the output
/// projection `Dense(width → width)` that follows. Per sequence and head (`d = width/heads`):
/// `S = Q·Kᵀ/√d`, `P` = the row softmax of S over the tokens at or before each token (the
/// causal mask), `O = P·V`; three GEMMs a head forward, four backward. Keeps P for backward.
public final class CausalAttention<Scalar: NetworkScalar>: FlopCountedLayer {
    public let sequenceLength: Int
    public let heads: Int
    public let width: Int
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    /// P of every sequence and head, T × T each, stacked: (B·heads·T) × T.
    var probabilities = Matrix<Scalar>(rows: 0, columns: 0)
    /// dP, then dS, of one sequence and head (T × T).
    var scoreGradient: Matrix<Scalar>
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` for a size below 1, a width that the heads do not divide, or a
    ///   T × T score buffer larger than this machine's memory.
    public init(sequenceLength: Int, heads: Int, width: Int) throws(NGError) {
        for (name, value) in [("sequenceLength", sequenceLength), ("heads", heads), ("width", width)]
        where value < 1 || value > 1 << 20 {
            throw .invalidArgument(operation: .causalAttentionInit, argument: name, reason: "must be in 1...2²⁰, got \(value)")
        }
        guard width % heads == 0 else {
            throw .invalidArgument(
                operation: .causalAttentionInit, argument: "heads", reason: "\(heads) heads do not divide the width \(width)")
        }
        try Self.memory(sequenceLength: sequenceLength).check(.causalAttentionInit, argument: "sequenceLength")
        self.sequenceLength = sequenceLength
        self.heads = heads
        self.width = width
        scoreGradient = Matrix(rows: sequenceLength, columns: sequenceLength)
    }

    /// What the layer allocates when made: one T × T buffer of score gradients.
    static func memory(sequenceLength: Int) -> MemoryRequirement {
        .of("its \(sequenceLength) × \(sequenceLength) attention scores",
            elements: Double(sequenceLength) * Double(sequenceLength), Scalar.self)
    }

    /// The width of one head.
    public var headWidth: Int { width / heads }

    public var flops: LayerFlops { .attention(sequenceLength: sequenceLength, width: width, heads: heads) }

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
            // P of every sequence and head is kept for backward: heads·T values per token row.
            try MemoryRequirement.of(
                "the attention probabilities of \(sequences) sequences", elements: Double(x.rows) * Double(heads * t),
                Scalar.self
            ).check(.causalAttentionForward, argument: "input")
        }
        ensureShape(&output, x.rows, width)
        ensureShape(&probabilities, sequences * heads * t, t)
        input = x
        x.withView { x in
            output.withMutableView { out in
                probabilities.withMutableView { p in
                    for s in 0..<sequences {
                        let tokens = x.rows(s * t..<(s + 1) * t)
                        for h in 0..<heads {
                            let (q, k, v) = self.headColumns(tokens, h)
                            let scores = p.rows((s * heads + h) * t..<(s * heads + h + 1) * t)
                            BLAS.gemm(q, k, transposeB: true, alpha: scale, into: scores)
                            Scalar.causalSoftmax(scores.base, size: t, leadingDimension: scores.leadingDimension)
                            BLAS.gemm(scores.readOnly, v, into: out.rows(s * t..<(s + 1) * t).columns(h * d..<(h + 1) * d))
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
        ensureShape(&inputGradient, input.rows, 3 * width)
        withViews(input, dy, mutating: &inputGradient) { x, dy, dx in
            probabilities.withView { p in scoreGradient.withMutableView { ds in
                for s in 0..<sequences {
                    let (tokens, rows) = (x.rows(s * t..<(s + 1) * t), s * t..<(s + 1) * t)
                    let (gradients, dOut) = (dx.rows(rows), dy.rows(rows))
                    for h in 0..<heads {
                        let (q, k, v) = self.headColumns(tokens, h)
                        let (dq, dk, dv) = self.headColumns(gradients, h)
                        let probability = p.rows((s * heads + h) * t..<(s * heads + h + 1) * t)
                        let dO = dOut.columns(h * d..<(h + 1) * d)
                        BLAS.gemm(probability, transposeA: true, dO, into: dv)        // dV = Pᵀ·dO
                        BLAS.gemm(dO, v, transposeB: true, into: ds)                  // dP = dO·Vᵀ
                        Scalar.causalSoftmaxBackward(
                            probability.base, ds.base, size: t, leadingDimension: ds.leadingDimension)
                        BLAS.gemm(ds.readOnly, k, alpha: scale, into: dq)              // dQ = dS·K/√d
                        BLAS.gemm(ds.readOnly, transposeA: true, q, alpha: scale, into: dk)   // dK = dSᵀ·Q/√d
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
