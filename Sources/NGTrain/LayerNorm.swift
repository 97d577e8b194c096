import NGPlus

/// Layer normalization over each row's `width` values (a token's features):
/// `y = γ ⊙ (x − μ)/√(σ² + ε) + β`, μ and σ² the row's mean and variance. Its parameter is one
/// vector `[γ | β]` (1 × 2·width; γ = 1, β = 0 at the start), registered as `.vector`: the
/// optimizers give it their plain first-order step (NG+ never preconditions normalization
/// parameters, as the authors do).
public final class LayerNorm<Scalar: NetworkScalar>: GradientOnlyLayer, ResidualGradientFusing {
    public let width: Int
    public let epsilon: Scalar
    /// `[γ | β]`.
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    /// The last forward's input (until `release`), and its μ and 1/σ per row: backward forms
    /// x̂ from them again rather than keep a matrix of x̂ (a pass written forward and read back).
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var means = Matrix<Scalar>(rows: 0, columns: 0)
    var inverseDeviation = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// `[∂γ | ∂β]` of the last backward.
    var gradient: Matrix<Scalar>
    /// `[∂γ | ∂β]` of each block of `gradientBlock` rows, summed into `gradient`.
    var blockGradients = Matrix<Scalar>(rows: 0, columns: 0)

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

    /// Rows a core takes at the least (about 16,384 values): below, one core does it all.
    package var minimumRows: Int { Swift.max(1, (1 << 14) / width) }

    /// Rows whose `[∂γ | ∂β]` the backward pass sums apart, before adding the blocks' sums in
    /// order: the cores share the blocks, and the result has the same bits on any number of
    /// them.
    static var gradientBlock: Int { 128 }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, width), .layerNormForward, "input")
        let (rows, width, epsilon) = (x.rows, width, epsilon)
        ensureShape(&output, rows, width)
        ensureShape(&means, rows, 1)
        ensureShape(&inverseDeviation, rows, 1)
        input = x
        withViews(x, weight, mutating: &output) { x, w, y in
            means.withMutableView { mean in
                inverseDeviation.withMutableView { inverse in
                    ParallelLoop.forEachChunk(rows, minimumChunk: minimumRows) { chunk in
                        Scalar.layerNorm(
                            x.rows(chunk).base, rows: chunk.count, width: width, gain: w.base,
                            bias: w.columns(width..<2 * width).base, epsilon: epsilon, into: y.rows(chunk).base,
                            means: mean.rows(chunk).base, inverseDeviation: inverse.rows(chunk).base)
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(input.shape, .layerNormBackward, "outputGradient")
        return backwardUnchecked(dy, adding: nil)
    }

    /// The input gradient plus `residual`, added to each block of rows as it is made.
    public func backward(_ dy: Matrix<Scalar>, adding residual: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(input.shape, .layerNormBackward, "outputGradient")
        try residual.requireShape(input.shape, .layerNormBackward, "residual")
        return residual.withView { backwardUnchecked(dy, adding: $0) }
    }

    /// The gradients of a validated `dy`, and `residual` added to the input gradient's rows of
    /// each block (the same bits as a pass that adds it after).
    func backwardUnchecked(_ dy: Matrix<Scalar>, adding residual: MatrixView<Scalar>?) -> Matrix<Scalar> {
        let (rows, width, block) = (dy.rows, width, Self.gradientBlock)
        let blocks = Swift.max(1, (rows + block - 1) / block)
        ensureShape(&inputGradient, rows, width)
        ensureShape(&blockGradients, blocks, 2 * width)
        withViews(dy, input, mutating: &inputGradient) { dy, x, dx in
            withViews(inverseDeviation, weight, mutating: &blockGradients) { inverse, w, sums in
                means.withView { mean in
                    let blocksAtLeast = Swift.max(1, minimumRows / block)
                    ParallelLoop.forEachChunk(blocks, minimumChunk: blocksAtLeast) { chunk in
                        for b in chunk {
                            let range = b * block..<Swift.min(rows, (b + 1) * block)
                            let sum = sums.rows(b..<b + 1)
                            Scalar.layerNormBackward(
                                dy.rows(range).base, input: x.rows(range).base, means: mean.rows(range).base,
                                inverseDeviation: inverse.rows(range).base, rows: range.count, width: width,
                                gain: w.base, into: dx.rows(range).base, gainGradient: sum.base,
                                biasGradient: sum.columns(width..<2 * width).base)
                            if let residual {
                                // Swift's loop, not OpenBLAS's AXPY: this runs on a worker thread.
                                let (target, shortcut) = (dx.rows(range).flattened, residual.rows(range).flattened)
                                _ = Scalar.scaledUpdate(
                                    target.base, keep: 1, minus: -1, times: shortcut.base, into: target.base,
                                    count: target.count)
                            }
                        }
                    }
                }
            }
        }
        gradient.withMutableView { g in
            blockGradients.withView { sums in
                g.update(from: sums.rows(0..<1))
                for b in 1..<blocks { BLAS.axpy(1, sums.rows(b..<b + 1), into: g) }
            }
        }
        return inputGradient
    }

    public var parameterGradient: Matrix<Scalar> { gradient }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
    }
}
