import NGPlus

/// The feature interaction of DLRM (Naumov et al., 2019). Each input row is
/// `[dense features | the ids of every bag, table by table]`; the dense features go through the
/// bottom layers (an MLP ending in `width` outputs), each table's ids through its
/// `EmbeddingBag`. With the F = tables + 1 vectors of a row — the bottom output `b` and the bags
/// `e_1 … e_T`, all of `width` values — the output row is `[b | v_i·v_j for every pair i > j]`,
/// `width + F(F−1)/2` values, in the order (1,0), (2,0), (2,1), (3,0)…; the top MLP follows it
/// as the model's next layers. Backward: `dv_i = Σ_j g_ij·v_j` over the pairs, plus the output
/// gradient of `b` itself, back through the bottom layers and into the bags. The input has no
/// gradient (ids have none): the layer comes first.
public final class FeatureInteraction<Scalar: NetworkScalar>: NetworkLayer, LayerContainer {
    /// The bottom layers, then the bags.
    public let sublayers: [any NetworkLayer<Scalar>]
    /// How many of `sublayers` are the bottom MLP's.
    public let bottomCount: Int
    let bags: [EmbeddingBag<Scalar>]
    /// The dense features at the start of an input row.
    public let denseFeatures: Int
    /// The width of the bottom output and of every bag.
    public let width: Int
    /// Values of an input row: the dense features and every bag's ids.
    public let inputColumns: Int
    public var layerTimes: LayerTimeAccount?
    var denseInput = Matrix<Scalar>(rows: 0, columns: 0)
    var ids: [Matrix<Scalar>]
    /// A row's F vectors side by side (`rows × F·width`).
    var stacked = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var stackedGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var bottomGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var bagGradients: [Matrix<Scalar>]
    let noInputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` for no bottom layer, no bag, fewer than one dense feature, or
    ///   a bag of another width than `width`.
    public init(
        denseFeatures: Int, width: Int, bottom: [any NetworkLayer<Scalar>], bags: [EmbeddingBag<Scalar>]
    ) throws(NGError) {
        try NGError.Operation.featureInteractionInit.require(
            denseFeatures >= 1 && width >= 1 && !bottom.isEmpty && !bags.isEmpty, "denseFeatures, width, bottom, bags",
            "needs a dense feature, a width, a bottom layer and a bag, got \(denseFeatures), \(width), \(bottom.count), \(bags.count)")
        if let other = bags.first(where: { $0.width != width }) {
            throw .invalidArgument(
                operation: .featureInteractionInit, argument: "bags", reason: "a bag has width \(other.width), not \(width)")
        }
        self.denseFeatures = denseFeatures
        self.width = width
        inputColumns = bags.reduce(denseFeatures) { $0 + $1.bag }
        self.bags = bags
        sublayers = bottom + bags.map { $0 as any NetworkLayer<Scalar> }
        bottomCount = bottom.count
        ids = bags.map { _ in Matrix(rows: 0, columns: 0) }
        bagGradients = bags.map { _ in Matrix(rows: 0, columns: 0) }
    }

    /// F: the bottom output and one vector a bag.
    public var vectors: Int { bags.count + 1 }


    /// Values of an output row: the bottom output and the F(F−1)/2 dot products.
    public var outputColumns: Int { width + vectors * (vectors - 1) / 2 }

    /// - Throws: `shapeMismatch` for an input of other than `inputColumns` values a row or a
    ///   bottom output of other than `width`; `invalidArgument` for an id outside its table.
    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, inputColumns), .featureInteractionForward, "input")
        let (rows, width, vectors) = (x.rows, width, vectors)
        ensureShape(&denseInput, rows, denseFeatures)
        copy(x, columns: 0..<denseFeatures, into: &denseInput, columns: 0..<denseFeatures)
        let b = try forward(denseInput, through: 0..<bottomCount)
        try b.requireShape(Shape(rows, width), .featureInteractionForward, "output of the bottom layers")
        ensureShape(&stacked, rows, vectors * width)
        copy(b, columns: 0..<width, into: &stacked, columns: 0..<width)
        var column = denseFeatures
        for t in bags.indices {
            let bag = bags[t].bag
            ensureShape(&ids[t], rows, bag)
            copy(x, columns: column..<(column + bag), into: &ids[t], columns: 0..<bag)
            column += bag
            let e = try forward(ids[t], through: (bottomCount + t)..<(bottomCount + t + 1))
            copy(e, columns: 0..<width, into: &stacked, columns: ((t + 1) * width)..<((t + 2) * width))
        }
        let columns = outputColumns
        ensureShape(&output, rows, columns)
        copy(b, columns: 0..<width, into: &output, columns: 0..<width)
        withViews(stacked, stacked, mutating: &output) { v, _, z in
            NetworkKernels.pairwiseDots(v.base, rows: rows, vectors: vectors, width: width, into: z.base, stride: columns, offset: width)
        }
        return output
    }

    public func backward(_ dz: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dz.requireShape(output.shape, .featureInteractionBackward, "outputGradient")
        let (rows, width, vectors, columns) = (dz.rows, width, vectors, outputColumns)
        ensureShape(&stackedGradient, rows, vectors * width)
        withViews(stacked, dz, mutating: &stackedGradient) { v, dz, dv in
            NetworkKernels.pairwiseDotsBackward(
                v.base, outputGradient: dz.base, rows: rows, vectors: vectors, width: width, stride: columns, offset: width,
                into: dv.base)
        }
        ensureShape(&bottomGradient, rows, width)
        copy(stackedGradient, columns: 0..<width, into: &bottomGradient, columns: 0..<width)
        for t in bags.indices {
            ensureShape(&bagGradients[t], rows, width)
            copy(stackedGradient, columns: ((t + 1) * width)..<((t + 2) * width), into: &bagGradients[t], columns: 0..<width)
            _ = try backward(bagGradients[t], through: (bottomCount + t)..<(bottomCount + t + 1))
        }
        _ = try backward(bottomGradient, through: 0..<bottomCount)
        return noInputGradient
    }

    public func release() {
        for layer in sublayers { layer.release() }
    }
}

/// Copies `source`'s `sourceColumns` into `target`'s `targetColumns` (as many), every row.
func copy<Scalar: BLASScalar>(
    _ source: Matrix<Scalar>, columns sourceColumns: Range<Int>, into target: inout Matrix<Scalar>,
    columns targetColumns: Range<Int>
) {
    source.withView { s in target.withMutableView { t in t.columns(targetColumns).update(from: s.columns(sourceColumns)) } }
}
