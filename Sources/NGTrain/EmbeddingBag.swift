import NGPlus

/// How an embedding bag combines the rows of its ids.
public enum BagReduction: String, Sendable, CaseIterable {
    /// The sum of the rows.
    case sum
    /// Their mean.
    case mean
}

/// An embedding bag, a recommender's categorical feature: each input row holds `bag` ids (a
/// `rows × bag` matrix of whole numbers in `0..<vocabulary`) and its output row is the sum or
/// mean of those ids' rows of the `vocabulary × width` table E, drawn from `N(0, 1/width)`. The
/// table is registered `.embedding` and stepped sparsely (`LayerOptimizer.step(_:table:lookups:
/// outputGradients:)`): every id of every bag is a lookup, whose output gradient is its row's
/// (divided by `bag` for the mean), so a step costs the batch's ids, never the vocabulary. Ids
/// have no gradient: `backward` returns an empty matrix.
public final class EmbeddingBag<Scalar: NetworkScalar>: TrainableLayer {
    public let vocabulary: Int
    public let width: Int
    public let bag: Int
    public let reduction: BagReduction
    /// E.
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    /// The last batch's ids, bag by bag (kept for the step).
    public private(set) var lookups: [Int] = []
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    /// Each lookup's output gradient (`lookups.count × width`).
    var lookupGradients = Matrix<Scalar>(rows: 0, columns: 0)
    let noInputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` for a vocabulary or width below 1 or above 2²⁴ (ids are
    ///   exact in Float up to there), a bag below 1, or a table larger than this machine's memory.
    public init(
        vocabulary: Int, width: Int, bag: Int, reduction: BagReduction = .sum, using generator: inout SeededGenerator
    ) throws(NGError) {
        for (name, value) in [("vocabulary", vocabulary), ("width", width), ("bag", bag)] where value < 1 || value > 1 << 24 {
            throw .invalidArgument(operation: .embeddingBagInit, argument: name, reason: "must be in 1...2²⁴, got \(value)")
        }
        try TokenEmbedding<Scalar>.memory(vocabulary: vocabulary, width: width).check(.embeddingBagInit, argument: "vocabulary, width")
        self.vocabulary = vocabulary
        self.width = width
        self.bag = bag
        self.reduction = reduction
        let scale = (1 / Double(width)).squareRoot()
        weight = .normal(rows: vocabulary, columns: width, deviation: scale, using: &generator)
    }

    public var spec: LayerSpec { .embedding(vocabulary: vocabulary, width: width) }

    /// A lookup is no GEMM (see `LayerFlops`).
    public var flops: LayerFlops { LayerFlops(name: "embedding bag \(vocabulary)×\(width)", forward: 0, backward: 0) }

    /// The factor of the reduction: 1 for a sum, 1/bag for a mean.
    var scale: Scalar { reduction == .mean ? 1 / Scalar(bag) : 1 }

    /// - Throws: `shapeMismatch` for an input that is not `bag` columns, `invalidArgument` for an
    ///   id that is not a whole number in the vocabulary (nothing kept changes).
    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, bag), .embeddingBagForward, "input")
        let (rows, bag, vocabulary, width, scale) = (x.rows, bag, vocabulary, width, scale)
        if lookups.count != rows * bag { lookups = Array(repeating: 0, count: rows * bag) }
        ensureShape(&output, rows, width)
        let bad = x.withView { ids in
            weight.withView { table in
                output.withMutableView { y in
                    lookups.withUnsafeMutableBufferPointer { lookups in
                        NetworkKernels.embeddingBag(
                            ids.base, rows: rows, bag: bag, table: table.base, vocabulary: vocabulary, width: width,
                            scale: scale, lookups: lookups, into: y.base)
                    }
                }
            }
        }
        if let bad {
            throw .invalidArgument(
                operation: .embeddingBagForward, argument: "input",
                reason: "row \(bad) holds an id that is not a whole number in 0..<\(vocabulary)")
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(Shape(lookups.count / bag, width), .embeddingBagBackward, "outputGradient")
        let (rows, bag, width, scale) = (dy.rows, bag, width, scale)
        ensureShape(&lookupGradients, rows * bag, width)
        dy.withView { dy in
            lookupGradients.withMutableView { g in
                NetworkKernels.spreadBagGradients(dy.base, rows: rows, bag: bag, width: width, scale: scale, into: g.base)
            }
        }
        return noInputGradient
    }

    public func submit<O: SynchronizedOptimizer>(to optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.submit(handle, lookups: lookups, outputGradients: lookupGradients)
    }

    public func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.step(handle, weight: &weight, submitted: .lookups(lookups, outputGradients: lookupGradients))
    }

    public func release() {}
}
