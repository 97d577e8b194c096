import NGPlus

/// A token embedding: each input row holds one token id (a `rows × 1` matrix of whole numbers in
/// `0..<vocabulary`), and its output row is that token's row of the `vocabulary × width` table
/// E, drawn from `N(0, 2/vocabulary)` (what `Dense(vocabulary → width)` on the one-hot would
/// start from). The table is registered `.embedding` and stepped sparsely from the lookups and
/// their output gradients (`LayerOptimizer.step(_:table:lookups:outputGradients:)`): a step
/// costs the batch's tokens, not the vocabulary. Token ids have no gradient: `backward`
/// returns an empty matrix, so the layer comes first.
public final class TokenEmbedding<Scalar: NetworkScalar>: TrainableLayer {
    public let vocabulary: Int
    public let width: Int
    /// E.
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    /// The last batch's token ids (kept for the step).
    public private(set) var lookups: [Int] = []
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var outputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    let noInputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` for a size below 1 or above 2²⁴ (ids are exact in Float up to
    ///   there), or a table larger than this machine's memory.
    public init(vocabulary: Int, width: Int, using generator: inout SeededGenerator) throws(NGError) {
        for (name, value) in [("vocabulary", vocabulary), ("width", width)] where value < 1 || value > 1 << 24 {
            throw .invalidArgument(operation: .tokenEmbeddingInit, argument: name, reason: "must be in 1...2²⁴, got \(value)")
        }
        try Self.memory(vocabulary: vocabulary, width: width).check(.tokenEmbeddingInit, argument: "vocabulary, width")
        self.vocabulary = vocabulary
        self.width = width
        let scale = (2 / Double(vocabulary)).squareRoot()
        weight = .normal(rows: vocabulary, columns: width, deviation: scale, using: &generator)
    }

    /// What the layer allocates when made: its table.
    static func memory(vocabulary: Int, width: Int) -> MemoryRequirement {
        .of("its \(vocabulary) × \(width) table", elements: Double(vocabulary) * Double(width), Scalar.self)
    }

    public var spec: LayerSpec { .embedding(vocabulary: vocabulary, width: width) }

    /// A lookup is no GEMM (see `LayerFlops`).
    public var flops: LayerFlops { LayerFlops(name: "embedding \(vocabulary)×\(width)", forward: 0, backward: 0) }

    /// - Throws: `shapeMismatch` for an input that is not one column, `invalidArgument` for an
    ///   id that is not a whole number in the vocabulary.
    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, 1), .tokenEmbeddingForward, "input")
        let (rows, vocabulary, width) = (x.rows, vocabulary, width)
        if lookups.count != rows { lookups = Array(repeating: 0, count: rows) }
        ensureShape(&output, rows, width)
        let bad = x.withView { ids in
            weight.withView { table in
                output.withMutableView { y in
                    lookups.withUnsafeMutableBufferPointer { lookups in
                        NetworkKernels.embeddingLookup(
                            ids.base, rows: rows, table: table.base, vocabulary: vocabulary, width: width,
                            lookups: lookups, into: y.base)
                    }
                }
            }
        }
        if let bad {
            throw .invalidArgument(
                operation: .tokenEmbeddingForward, argument: "input",
                reason: "row \(bad) holds \(x.withView { $0[bad, 0] }), not a token id in 0..<\(vocabulary)")
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(Shape(lookups.count, width), .tokenEmbeddingBackward, "outputGradient")
        outputGradient = dy
        return noInputGradient
    }

    public func submit<O: SynchronizedOptimizer>(to optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.submit(handle, lookups: lookups, outputGradients: outputGradient)
    }

    public func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.step(handle, weight: &weight, submitted: .lookups(lookups, outputGradients: outputGradient))
    }

    public func release() {
        outputGradient = Matrix(rows: 0, columns: 0)
    }
}
