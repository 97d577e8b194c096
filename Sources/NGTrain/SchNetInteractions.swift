import NGPlus

/// SchNet's embedding and interaction blocks (Schütt et al., 2017). Each input row is an atom,
/// `[species | x | y | z]`, every molecule's `atoms` rows together. The species go through an
/// embedding of `width` features; the pairs (i, j ≠ i) of each molecule get their distance's
/// `centers` Gaussian radial basis and a cosine cutoff c(r). Each of `blocks` interaction blocks
/// then updates the atoms' features x:
///
///     W_ij = Dense(ssp(Dense(basis(r_ij))))          the filter network, on pair rows
///     m_i  = mean_{j≠i} c(r_ij)·W_ij ⊙ Dense(x)_j     the continuous-filter convolution
///     x_i ← x_i + Dense(ssp(Dense(m_i)))
///
/// (ssp the shifted softplus; the mean over the neighbors, SchNetPack's `normalize_filter`,
/// rather than the sum, which made the features' scale grow with the cluster: SGD at lr 0.005
/// diverged in the first epoch on clusters of 13 atoms). The output is x, `width` features an atom; the atom-wise output
/// layers and `AtomPooling` follow as the model's next layers. Positions have no gradient here
/// (no forces are trained): the layer comes first.
public final class SchNetInteractions<Scalar: NetworkScalar>: NetworkLayer, LayerContainer {
    /// The embedding, then each block's filter network (3 layers), its atom-wise input layer
    /// and its output network (3 layers).
    public let sublayers: [any NetworkLayer<Scalar>]
    public let atoms: Int
    public let width: Int
    public let centers: Int
    public let cutoff: Scalar
    /// γ of the radial basis `exp(−γ·(r − μ_k)²)`.
    public let gamma: Scalar
    public var layerTimes: LayerTimeAccount?
    var species = Matrix<Scalar>(rows: 0, columns: 0)
    var basis = Matrix<Scalar>(rows: 0, columns: 0)
    /// c(r) of every pair, one row.
    var envelope = Matrix<Scalar>(rows: 0, columns: 0)
    /// Each block's input x, then the output.
    var states: [Matrix<Scalar>]
    /// Each block's filters W and atom-wise features Dense(x), kept for backward.
    var filters: [Matrix<Scalar>]
    var features: [Matrix<Scalar>]
    var messages: [Matrix<Scalar>]
    /// Each block's gradients of its features, filters and input state: one buffer a block,
    /// because the dense layer a gradient goes back through keeps it for its step.
    var featureGradients: [Matrix<Scalar>]
    var filterGradients: [Matrix<Scalar>]
    var stateGradients: [Matrix<Scalar>]
    let noInputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// Layers of a block in `sublayers`.
    static var layersPerBlock: Int { 7 }

    /// - Throws: `invalidArgument` for a size below 1 (two atoms, two centers), or a cutoff
    ///   that is not positive and finite.
    public init(
        species speciesCount: Int, atoms: Int, width: Int = 64, blocks: Int = 3, centers: Int = 25, cutoff: Double = 2.5,
        using generator: inout SeededGenerator
    ) throws(NGError) {
        try NGError.Operation.schNetInteractionsInit.require(
            speciesCount >= 1 && atoms >= 2 && width >= 1 && blocks >= 1 && centers >= 2 && cutoff > 0 && cutoff.isFinite, "species, atoms, width, blocks, centers, cutoff",
            "needs a species, 2 atoms, a width, a block, 2 centers and a positive cutoff, got \(speciesCount), \(atoms), \(width), \(blocks), \(centers), \(cutoff)")
        var layers: [any NetworkLayer<Scalar>] = [try TokenEmbedding<Scalar>(vocabulary: speciesCount, width: width, using: &generator)]
        // The filter network's layers take a row for each pair, atoms − 1 for each atom.
        let pairsPerAtom = atoms - 1
        for _ in 0..<blocks {
            layers += [
                try Dense<Scalar>(
                    inputs: centers, outputs: width, computesInputGradient: false, rowsPerSample: pairsPerAtom, using: &generator),
                ShiftedSoftplus<Scalar>(),
                try Dense<Scalar>(inputs: width, outputs: width, rowsPerSample: pairsPerAtom, using: &generator),
                try Dense<Scalar>(inputs: width, outputs: width, using: &generator),
                try Dense<Scalar>(inputs: width, outputs: width, using: &generator), ShiftedSoftplus<Scalar>(),
                try Dense<Scalar>(inputs: width, outputs: width, using: &generator),
            ]
        }
        sublayers = layers
        self.atoms = atoms
        self.width = width
        self.centers = centers
        self.cutoff = Scalar(cutoff)
        let spacing = cutoff / Double(centers - 1)
        gamma = Scalar(0.5 / (spacing * spacing))
        let empty = Matrix<Scalar>(rows: 0, columns: 0)
        states = Array(repeating: empty, count: blocks + 1)
        (filters, features, messages) = (Array(repeating: empty, count: blocks), Array(repeating: empty, count: blocks),
                                         Array(repeating: empty, count: blocks))
        (featureGradients, filterGradients, stateGradients) = (
            Array(repeating: empty, count: blocks), Array(repeating: empty, count: blocks),
            Array(repeating: empty, count: blocks))
    }

    public var blocks: Int { filters.count }

    /// - Throws: `shapeMismatch` for rows of other than 4 values, `invalidArgument` for rows
    ///   that are not whole molecules or a species outside the embedding.
    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, 4), .schNetInteractionsForward, "input")
        try NGError.Operation.schNetInteractionsForward.require(
            x.rows % atoms == 0, "input", "has \(x.rows) rows, not whole molecules of \(atoms) atoms")
        let (molecules, atoms, width, centers, cutoff, gamma) = (x.rows / atoms, atoms, width, centers, cutoff, gamma)
        let pairs = molecules * atoms * (atoms - 1)
        ensureShape(&species, x.rows, 1)
        copy(x, columns: 0..<1, into: &species, columns: 0..<1)
        states[0] = try forward(species, through: 0..<1)
        ensureShape(&basis, pairs, centers)
        ensureShape(&envelope, 1, pairs)
        withViews(x, x, mutating: &basis) { x, _, basis in
            envelope.withMutableView { c in
                NetworkKernels.pairBasis(
                    x.base, molecules: molecules, atoms: atoms, centers: centers, cutoff: cutoff, gamma: gamma,
                    into: basis.base, envelope: c.base)
            }
        }
        for t in 0..<blocks {
            let first = 1 + t * Self.layersPerBlock
            filters[t] = try forward(basis, through: first..<(first + 3))
            features[t] = try forward(states[t], through: (first + 3)..<(first + 4))
            ensureShape(&messages[t], x.rows, width)
            withViews(features[t], filters[t], mutating: &messages[t]) { h, w, m in
                envelope.withView { c in
                    NetworkKernels.filterConvolution(
                        h.base, filters: w.base, envelope: c.base, molecules: molecules, atoms: atoms, width: width,
                        into: m.base)
                }
            }
            let update = try forward(messages[t], through: (first + 4)..<(first + 7))
            ensureShape(&states[t + 1], x.rows, width)
            withViews(states[t], update, mutating: &states[t + 1]) { x, v, y in
                y.update(from: x)
                BLAS.axpy(1, v.flattened, into: y.flattened)
            }
        }
        return states[blocks]
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(states[blocks].shape, .schNetInteractionsBackward, "outputGradient")
        let (rows, atoms, width) = (dy.rows, atoms, width)
        let molecules = rows / atoms
        // The gradient of block t's output state: dy for the last block.
        var gradient = dy
        for t in (0..<blocks).reversed() {
            let first = 1 + t * Self.layersPerBlock
            let dm = try backward(gradient, through: (first + 4)..<(first + 7))
            ensureShape(&featureGradients[t], rows, width)
            ensureShape(&filterGradients[t], filters[t].rows, width)
            withViews(features[t], filters[t], mutating: &featureGradients[t]) { h, w, dh in
                withViews(envelope, dm, mutating: &filterGradients[t]) { c, dm, dw in
                    NetworkKernels.filterConvolutionBackward(
                        h.base, filters: w.base, envelope: c.base, outputGradient: dm.base, molecules: molecules,
                        atoms: atoms, width: width, into: dh.base, filterGradient: dw.base)
                }
            }
            _ = try backward(filterGradients[t], through: first..<(first + 3))
            let dx = try backward(featureGradients[t], through: (first + 3)..<(first + 4))
            ensureShape(&stateGradients[t], rows, width)
            withViews(gradient, dx, mutating: &stateGradients[t]) { g, dx, out in
                out.update(from: g)
                BLAS.axpy(1, dx.flattened, into: out.flattened)
            }
            gradient = stateGradients[t]
        }
        _ = try backward(gradient, through: 0..<1)
        return noInputGradient
    }

    public func release() {
        for layer in sublayers { layer.release() }
        for t in 0..<blocks { (filters[t], features[t]) = (noInputGradient, noInputGradient) }
        states[0] = noInputGradient
    }
}
