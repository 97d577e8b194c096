import NGPlus

/// SchNet's activation, `ln(1 + eˣ) − ln 2` elementwise (softplus shifted to pass through 0);
/// its derivative is the logistic σ(x), kept from the forward pass. Both passes are split over
/// the cores; Float's forward pass is `FloatLoops`' vector loop.
public final class ShiftedSoftplus<Scalar: NetworkScalar>: NetworkLayer {
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var sigmoid = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    /// Values a core takes at the least: below, one core does it all.
    static var minimumChunk: Int { 1 << 14 }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        ensureShape(&output, x.rows, x.columns)
        ensureShape(&sigmoid, x.rows, x.columns)
        withViews(x, x, mutating: &output) { x, _, y in
            sigmoid.withMutableView { s in
                ParallelLoop.forEachChunk(x.count, minimumChunk: Self.minimumChunk) { chunk in
                    Scalar.shiftedSoftplus(
                        x.base + chunk.lowerBound, into: y.base + chunk.lowerBound, sigmoid: s.base + chunk.lowerBound,
                        count: chunk.count)
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .shiftedSoftplusBackward, "outputGradient")
        ensureShape(&inputGradient, dy.rows, dy.columns)
        withViews(dy, sigmoid, mutating: &inputGradient) { dy, s, dx in
            ParallelLoop.forEachChunk(dy.count, minimumChunk: Self.minimumChunk) { chunk in
                NetworkKernels.shiftedSoftplusBackward(
                    dy.base + chunk.lowerBound, sigmoid: s.base + chunk.lowerBound, into: dx.base + chunk.lowerBound,
                    count: chunk.count)
            }
        }
        return inputGradient
    }

    public func release() {}
}

/// The mean over each molecule's atom rows: `molecules·atoms` rows in, `molecules` rows out
/// (SchNet's energy per atom from the atoms' contributions).
public final class AtomPooling<Scalar: NetworkScalar>: NetworkLayer {
    public let atoms: Int
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` for fewer than 1 atom.
    public init(atoms: Int) throws(NGError) {
        try NGError.Operation.atomPoolingInit.require(atoms >= 1, "atoms", "must be at least 1, got \(atoms)")
        self.atoms = atoms
    }

    /// - Throws: `invalidArgument` for rows that are not whole molecules.
    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try NGError.Operation.atomPoolingForward.require(
            x.rows % atoms == 0, "input", "has \(x.rows) rows, not whole molecules of \(atoms) atoms")
        let (molecules, atoms, width) = (x.rows / atoms, atoms, x.columns)
        ensureShape(&output, molecules, width)
        withViews(x, x, mutating: &output) { x, _, y in
            NetworkKernels.atomMean(x.base, molecules: molecules, atoms: atoms, width: width, into: y.base)
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .atomPoolingBackward, "outputGradient")
        let (molecules, atoms, width) = (dy.rows, atoms, dy.columns)
        ensureShape(&inputGradient, molecules * atoms, width)
        withViews(dy, dy, mutating: &inputGradient) { dy, _, dx in
            NetworkKernels.atomMeanBackward(dy.base, molecules: molecules, atoms: atoms, width: width, into: dx.base)
        }
        return inputGradient
    }

    public func release() {}
}
