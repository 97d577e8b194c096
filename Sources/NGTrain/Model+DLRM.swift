import NGPlus

extension Model {
    /// A DLRM (Naumov et al., 2019) at the size of these machines: the bottom MLP on
    /// `denseFeatures` values (`bottom` hidden widths, then `width`, ReLU after each), one
    /// `EmbeddingBag` of `bag` ids per table of `vocabularies`, their pairwise dot products
    /// (`FeatureInteraction`), and the top MLP (`top` hidden widths with ReLUs) to two logits.
    /// Two logits under softmax cross-entropy are binary cross-entropy on their difference:
    /// `p(click) = σ(z₁ − z₀)`. An input row is `[dense features | every table's bag of ids]`.
    /// - Throws: `invalidArgument` for no table, a size below 1, or tables and weights larger
    ///   than this machine's memory.
    public static func dlrm(
        denseFeatures: Int = 13, vocabularies: [Int] = Array(repeating: 100_000, count: 8), bag: Int = 2,
        width: Int = 16, bottom: [Int] = [64], top: [Int] = [64, 32], reduction: BagReduction = .sum, seed: UInt64
    ) throws(NGError) -> Model {
        let sizes = [denseFeatures, bag, width] + vocabularies + bottom + top
        try NGError.Operation.modelDLRM.require(
            !vocabularies.isEmpty && sizes.allSatisfy({ $0 >= 1 }), "sizes",
            "needs a table and every size at least 1, got \(sizes)")
        var requirement = MemoryRequirement()
        for vocabulary in vocabularies { requirement.add(TokenEmbedding<Scalar>.memory(vocabulary: vocabulary, width: width)) }
        try requirement.check(.modelDLRM, argument: "vocabularies, width")
        var generator = SeededGenerator(seed: seed)
        func mlp(_ widths: [Int], inputGradientFirst: Bool) throws(NGError) -> [any NetworkLayer<Scalar>] {
            var layers: [any NetworkLayer<Scalar>] = []
            for i in 1..<widths.count {
                layers.append(try Dense<Scalar>(
                    inputs: widths[i - 1], outputs: widths[i], computesInputGradient: i > 1 || inputGradientFirst,
                    using: &generator))
                if i < widths.count - 1 { layers.append(ReLU<Scalar>()) }
            }
            return layers
        }
        let bottomLayers = try mlp([denseFeatures] + bottom + [width], inputGradientFirst: false) + [ReLU<Scalar>()]
        var bags: [EmbeddingBag<Scalar>] = []
        for vocabulary in vocabularies {
            bags.append(try EmbeddingBag<Scalar>(
                vocabulary: vocabulary, width: width, bag: bag, reduction: reduction, using: &generator))
        }
        let interaction = try FeatureInteraction<Scalar>(
            denseFeatures: denseFeatures, width: width, bottom: bottomLayers, bags: bags)
        return Model(layers: [interaction] + (try mlp([interaction.outputColumns] + top + [2], inputGradientFirst: true)))
    }
}
