import NGPlus

/// Learned position embeddings: row `s·T + t` (token t of sequence s) gets `P[t]` added,
/// P a `T × width` matrix parameter (registered `.matrix`, so NG+ preconditions it with the
/// mini-batch GFIM form; zero at the start). Backward: `dx = dy`, `∇P[t] = Σ_s dy[s·T + t]`.
public final class PositionEmbedding<Scalar: NetworkScalar>: GradientOnlyLayer {
    public let sequenceLength: Int
    public let width: Int
    /// P.
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var gradient: Matrix<Scalar>

    /// - Throws: `invalidArgument` for a size below 1 or above 2²⁰, or a table larger than this
    ///   machine's memory.
    public init(sequenceLength: Int, width: Int) throws(NGError) {
        for (name, value) in [("sequenceLength", sequenceLength), ("width", width)] where value < 1 || value > 1 << 20 {
            throw .invalidArgument(operation: .positionEmbeddingInit, argument: name, reason: "must be in 1...2²⁰, got \(value)")
        }
        try Self.memory(sequenceLength: sequenceLength, width: width).check(
            .positionEmbeddingInit, argument: "sequenceLength, width")
        self.sequenceLength = sequenceLength
        self.width = width
        weight = Matrix(rows: sequenceLength, columns: width)
        gradient = weight
    }

    /// What the layer allocates when made: the T × width positions and their gradient.
    static func memory(sequenceLength: Int, width: Int) -> MemoryRequirement {
        .of("its \(sequenceLength) × \(width) positions and their gradient",
            elements: 2 * Double(sequenceLength) * Double(width), Scalar.self)
    }

    public var spec: LayerSpec { .matrix(rows: sequenceLength, columns: width) }

    /// No GEMM (see `LayerFlops`).
    public var flops: LayerFlops { LayerFlops(name: "positions \(sequenceLength)×\(width)", forward: 0, backward: 0) }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, width), .positionEmbeddingForward, "input")
        try NGError.Operation.positionEmbeddingForward.require(
            x.rows % sequenceLength == 0, "input", "\(x.rows) token rows are not whole sequences of \(sequenceLength)")
        let t = sequenceLength
        ensureShape(&output, x.rows, width)
        // Each sequence's T × width block, read as one row of T·width values, gets P added.
        let (sequences, block) = (x.rows / t, t * width)
        withViews(x, weight, mutating: &output) { x, p, y in
            y.update(from: x)
            BLAS.addToEveryRow(p.flattened, of: y.reshaped(rows: sequences, columns: block))
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .positionEmbeddingBackward, "outputGradient")
        // ∂P: the sequences' blocks summed, as the column sums of dY read as sequences × T·width.
        let (sequences, block) = (dy.rows / sequenceLength, sequenceLength * width)
        dy.withView { dy in
            gradient.withMutableView { g in
                BLAS.columnSums(
                    of: dy.reshaped(rows: sequences, columns: block), into: g.reshaped(rows: block, columns: 1))
            }
        }
        return dy
    }

    public var parameterGradient: Matrix<Scalar> { gradient }

    public func release() {}
}
