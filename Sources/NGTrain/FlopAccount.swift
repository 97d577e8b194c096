import NGPlus

/// The floating-point operations of one training sample through one layer with parameters
/// (or attention): the GEMM flops of its forward pass, and of its backward pass (the weight
/// gradient, and the input gradient when the layer computes one). Elementwise work (bias,
/// activations, pooling, im2col, softmax) is not counted: the bound is what the GEMMs need at
/// the machine's sgemm rate, the floor no implementation goes below.
public struct LayerFlops: Sendable, Equatable {
    /// For example "conv 1→32 3×3 on 28×28" or "dense 3136→128".
    public let name: String
    /// Forward flops per sample.
    public let forward: Double
    /// Backward flops per sample: weight gradient plus input gradient.
    public let backward: Double

    public init(name: String, forward: Double, backward: Double) {
        self.name = name
        self.forward = forward
        self.backward = backward
    }

    /// A dense layer n → m with a bias: `Y = X·Wᵀ + b` (2mn), `∇W̃ = dYᵀ·[X | 1]` (2m(n+1)),
    /// `dX = dY·W` (2mn) when computed; each of them `rowsPerSample` times when the layer takes
    /// that many rows for every sample of the model (a SchNet filter network's atom pairs).
    public static func dense(inputs n: Int, outputs m: Int, inputGradient: Bool, rowsPerSample: Int = 1) -> LayerFlops {
        let (n, m, r) = (Double(n), Double(m), Double(rowsPerSample))
        let name = "dense \(Int(n))→\(Int(m))" + (rowsPerSample == 1 ? "" : ", \(rowsPerSample) rows a sample")
        return LayerFlops(name: name, forward: 2 * m * n * r, backward: (2 * m * (n + 1) + (inputGradient ? 2 * m * n : 0)) * r)
    }

    /// A convolution with a bias over P positions, K = c_in·kh·kw: `Y = W̃·Ũ` (2·c_out·(K+1)·P),
    /// `∇W̃ = dY·Ũᵀ` (the same), `dŨ = Wᵀ·dY` (2·K·c_out·P) when the input gradient is computed.
    public static func conv2d(_ g: ConvGeometry, outChannels: Int, inputGradient: Bool) -> LayerFlops {
        let (k, c, p) = (Double(g.patchSize), Double(outChannels), Double(g.positions))
        return LayerFlops(
            name: "conv \(g.inChannels)→\(outChannels) \(g.kernelHeight)×\(g.kernelWidth) on \(g.height)×\(g.width)",
            forward: 2 * c * (k + 1) * p, backward: 2 * c * (k + 1) * p + (inputGradient ? 2 * k * c * p : 0))
    }

    /// Causal attention over sequences of T tokens, per token row, when a head computes
    /// `computedScores` entries of its T × T scores (`CausalAttention.computedScores`: the
    /// blocks on and below the diagonal): `S = Q·Kᵀ` and `O = P·V` forward, 2·d flops an
    /// entry each; `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dQ = dS·K`, `dK = dSᵀ·Q` backward.
    public static func attention(sequenceLength t: Int, width: Int, heads: Int, computedScores: Int) -> LayerFlops {
        let perToken = Double(computedScores) * Double(width) / Double(t)
        return LayerFlops(
            name: "attention T=\(t), \(heads) heads of \(width / heads)", forward: 4 * perToken, backward: 8 * perToken)
    }
}
