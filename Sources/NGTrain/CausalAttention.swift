import Foundation
import NGPlus

/// Causal multi-head self-attention, the parameter-free core of a Transformer's attention
/// block: its input is the fused projection `[Q | K | V]` of every token (one row per token,
/// `B·T` rows of `3·width`: sequence s's token t is row `s·T + t`, as a `Dense(width → 3·width)`
/// produces it) and its output the heads' results side by side (`B·T × width`), for the output
/// projection `Dense(width → width)` that follows. Per sequence and head (`d = width/heads`):
/// `S = Q·Kᵀ/√d`, `P` = the row softmax of S over the tokens at or before each token (the
/// causal mask), `O = P·V`. Keeps P for backward while the batch's P is at most
/// `probabilityLimit` values; beyond, the backward pass makes it again from Q and K (the same
/// bits), so that a long context costs memory in T a thread, not T² a sequence and head.
///
/// The (sequence, head) pairs are shared among the cores, each pair's work done by one core
/// in blocks of `rowBlock` query rows: a block of rows i₀..<i₁ needs the keys 0..<i₁ only, so
/// the scores above the diagonal's blocks are never computed. The blocks' products are tile
/// products (`BLASScalar.tileProduct`: Float's compiled for the processor's vector width,
/// Double's one small GEMM each), which keep a block of rows of the result in registers
/// and run on the calling thread.
public final class CausalAttention<Scalar: NetworkScalar>: FlopCountedLayer {
    public let sequenceLength: Int
    public let heads: Int
    public let width: Int
    /// Query rows a block (see the type's note).
    public let rowBlock: Int
    /// The most values of P (B·heads·T² for B sequences) the forward pass keeps for the
    /// backward pass.
    public let probabilityLimit: Int
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    /// P of every sequence and head, T × T each, stacked: (B·heads·T) × T, when the last forward
    /// pass kept it (else empty). Only the blocks the forward pass computes are written (the
    /// rest is never read).
    var probabilities = Matrix<Scalar>(rows: 0, columns: 0)
    /// P of the pair a thread works on when P is not kept: T × T a thread, stacked (else empty).
    var pairProbabilities = Matrix<Scalar>(rows: 0, columns: 0)
    /// dP, then dS, of the pair a thread works on: T × T a thread, stacked.
    var scoreGradients = Matrix<Scalar>(rows: 0, columns: 0)
    /// The Kᵀ and Vᵀ of the pair a thread works on, 2·d × T a thread: the tile products read B
    /// by rows.
    var transposedHeads = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Parameters:
    ///   - sequenceLength: T, the tokens of a sequence.
    ///   - heads: the heads, which divide `width`.
    ///   - width: the width of Q, K, V and the output.
    ///   - rowBlock: query rows a block (nil: 16, or T when shorter). Sixteen rows waste one
    ///     16 × 16 triangle of scores a block, and keep Float's tile products at the processor's
    ///     vector width.
    ///   - probabilityLimit: the most values of P the forward pass keeps for the backward pass
    ///     (2²⁴: 64 MB of Float a layer; the language model's 16 sequences of 128 tokens at 4
    ///     heads are 2²⁰). Made again, P costs the backward pass a product and a softmax a block
    ///     and spares the forward pass writing it: about even at those shapes, and at 16
    ///     sequences of 1,024 tokens (256 MB a layer) a step 1.13–1.42 s against 1.42–1.51 s in
    ///     1.4 GB against 2.5 GB (docs/measurements/attention-memory-2026-12-07.md).
    /// - Throws: `invalidArgument` for a size below 1, a width that the heads do not divide, a
    ///   negative limit, or a T × T score block larger than this machine's memory.
    public init(
        sequenceLength: Int, heads: Int, width: Int, rowBlock: Int? = nil, probabilityLimit: Int = 1 << 24
    ) throws(NGError) {
        for (name, value) in [("sequenceLength", sequenceLength), ("heads", heads), ("width", width), ("rowBlock", rowBlock ?? 1)]
        where value < 1 || value > 1 << 20 {
            throw .invalidArgument(operation: .causalAttentionInit, argument: name, reason: "must be in 1...2²⁰, got \(value)")
        }
        try NGError.Operation.causalAttentionInit.require(
            width % heads == 0, "heads", "\(heads) heads do not divide the width \(width)")
        try NGError.Operation.causalAttentionInit.require(
            probabilityLimit >= 0, "probabilityLimit", "must be at least 0, got \(probabilityLimit)")
        try MemoryRequirement.of(
            "one head's \(sequenceLength) × \(sequenceLength) attention scores",
            elements: Double(sequenceLength) * Double(sequenceLength), Scalar.self
        ).check(.causalAttentionInit, argument: "sequenceLength")
        self.sequenceLength = sequenceLength
        self.heads = heads
        self.width = width
        self.rowBlock = Swift.min(sequenceLength, rowBlock ?? 16)
        self.probabilityLimit = probabilityLimit
    }

    /// Whether the forward pass keeps P for a batch of `sequences` sequences.
    public func keepsProbabilities(sequences: Int) -> Bool {
        Double(sequences) * Double(heads) * Double(sequenceLength) * Double(sequenceLength) <= Double(probabilityLimit)
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
        try NGError.Operation.causalAttentionForward.require(
            x.rows % sequenceLength == 0, "input", "\(x.rows) token rows are not whole sequences of \(sequenceLength)")
        let (t, sequences) = (sequenceLength, x.rows / sequenceLength)
        let keeps = keepsProbabilities(sequences: sequences)
        if keeps && probabilities.rows != sequences * heads * t {
            // P for every sequence and head, heads·T values per token row.
            try MemoryRequirement.of(
                "the attention probabilities of \(sequences) sequences",
                elements: Double(x.rows) * Double(heads * t), Scalar.self
            ).check(.causalAttentionForward, argument: "input")
        }
        ensureShape(&output, x.rows, width)
        ensureShape(&probabilities, keeps ? sequences * heads * t : 0, t)
        input = x
        let (heads, width, rowBlock) = (heads, width, rowBlock)
        withWorkspace(keptProbabilities: keeps) { workspace in
            x.withView { x in
                output.withMutableView { out in
                    probabilities.withMutableView { p in
                        NetworkKernels.causalAttention(
                            x.base, sequences: sequences, length: t, heads: heads, width: width, rowBlock: rowBlock,
                            kept: keeps ? p.base : nil, workspace: workspace, into: out.base)
                    }
                }
            }
        }
        return output
    }

    /// The passes' workspaces for each thread they may use: a P block (when P is not kept), a
    /// dP/dS block and two transposed heads.
    func withWorkspace(keptProbabilities: Bool, _ body: (AttentionWorkspace<Scalar>) -> Void) {
        let slots = ParallelLoop.threadCount
        ensureShape(&pairProbabilities, keptProbabilities ? 0 : slots * sequenceLength, sequenceLength)
        ensureShape(&scoreGradients, slots * sequenceLength, sequenceLength)
        ensureShape(&transposedHeads, slots * 2 * headWidth, sequenceLength)
        pairProbabilities.withMutableView { p in
            scoreGradients.withMutableView { ds in
                transposedHeads.withMutableView { transposed in
                    body(AttentionWorkspace(
                        probabilities: p.base, scoreGradients: ds.base, transposed: transposed.base, slots: slots))
                }
            }
        }
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(Shape(input.rows, width), .causalAttentionBackward, "outputGradient")
        let (t, sequences) = (sequenceLength, input.rows / sequenceLength)
        let (heads, width, rowBlock, kept) = (heads, width, rowBlock, probabilities.rows > 0)
        ensureShape(&inputGradient, input.rows, 3 * width)
        withWorkspace(keptProbabilities: kept) { workspace in
            withViews(input, dy, mutating: &inputGradient) { x, dy, dx in
                probabilities.withView { p in
                    NetworkKernels.causalAttentionBackward(
                        x.base, outputGradient: dy.base, kept: kept ? p.base : nil, workspace: workspace,
                        sequences: sequences, length: t, heads: heads, width: width, rowBlock: rowBlock, into: dx.base)
                }
            }
        }
        return inputGradient
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
    }
}
