import NGPlus

/// Layer normalization over each row's `width` values (a token's features):
/// `y = γ ⊙ (x − μ)/√(σ² + ε) + β`, μ and σ² the row's mean and variance. Its parameter is one
/// vector `[γ | β]` (1 × 2·width; γ = 1, β = 0 at the start), registered as `.vector`: the
/// optimizers give it their plain first-order step (NG+ never preconditions normalization
/// parameters, as the authors do).
public final class LayerNorm<Scalar: NetworkScalar>: GradientOnlyLayer {
    public let width: Int
    public let epsilon: Scalar
    /// `[γ | β]`.
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    /// x̂ of the last forward, and 1/σ per row.
    var normalized = Matrix<Scalar>(rows: 0, columns: 0)
    var inverseDeviation = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// `[∂γ | ∂β]` of the last backward.
    var gradient: Matrix<Scalar>

    /// - Throws: `invalidArgument` for a width below 1 or an ε that is not positive and finite,
    ///   or parameters larger than this machine's memory.
    public init(width: Int, epsilon: Double = 1e-5) throws(NGError) {
        try NGError.Operation.layerNormInit.require(
            width >= 1 && width <= Int(Int32.max), "width", "must be in 1...Int32.max, got \(width)")
        try NGError.Operation.layerNormInit.require(
            epsilon > 0 && epsilon.isFinite && Scalar(epsilon) > 0, "epsilon",
            "must be positive and finite in \(Scalar.self), got \(epsilon)")
        try Self.memory(width: width).check(.layerNormInit, argument: "width")
        self.width = width
        self.epsilon = Scalar(epsilon)
        weight = Matrix(rows: 1, columns: 2 * width) { _, j in j < width ? 1 : 0 }
        gradient = Matrix(rows: 1, columns: 2 * width)
    }

    /// What the layer allocates when made: `[γ | β]` and its gradient.
    static func memory(width: Int) -> MemoryRequirement {
        .of("its \(width)-wide scale and shift and their gradient", elements: 4 * Double(width), Scalar.self)
    }

    public var spec: LayerSpec { .vector(length: 2 * width) }

    /// No GEMM: elementwise work is not counted (see `LayerFlops`).
    public var flops: LayerFlops { LayerFlops(name: "layer norm \(width)", forward: 0, backward: 0) }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, width), .layerNormForward, "input")
        let (rows, width, epsilon) = (x.rows, width, epsilon)
        ensureShape(&output, rows, width)
        ensureShape(&normalized, rows, width)
        ensureShape(&inverseDeviation, rows, 1)
        withViews(x, weight, mutating: &output) { x, w, y in
            normalized.withMutableView { hat in
                inverseDeviation.withMutableView { inverse in
                    Scalar.layerNorm(
                        x.base, rows: rows, width: width, gain: w.base, bias: w.columns(width..<2 * width).base,
                        epsilon: epsilon, into: y.base, normalized: hat.base, inverseDeviation: inverse.base)
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(normalized.shape, .layerNormBackward, "outputGradient")
        let (rows, width) = (dy.rows, width)
        ensureShape(&inputGradient, rows, width)
        withViews(dy, normalized, mutating: &inputGradient) { dy, hat, dx in
            withViews(inverseDeviation, weight, mutating: &gradient) { inverse, w, g in
                Scalar.layerNormBackward(
                    dy.base, normalized: hat.base, inverseDeviation: inverse.base, rows: rows, width: width,
                    gain: w.base, into: dx.base, gainGradient: g.base, biasGradient: g.columns(width..<2 * width).base)
            }
        }
        return inputGradient
    }

    public var parameterGradient: Matrix<Scalar> { gradient }

    public func release() {}
}
