/// Muon (Keller Jordan et al., 2024): momentum, then the update of every matrix parameter
/// replaced by a near-orthogonal matrix of the same shape by five Newton–Schulz steps
/// (`NewtonSchulz`), scaled for the shape. Vectors and embedding tables take AdamW.
public typealias MuonOptimizer<Scalar: BLASScalar> = TransformedOptimizer<Muon<Scalar>>

/// Every setting of `MuonOptimizer`; the defaults are the reference implementation's (lr 0.02,
/// momentum 0.95, Nesterov, five steps, no weight decay) and AdamW's for the rest.
public struct MuonSettings: TransformSettings {
    /// The learning rate of matrix parameters, in units of spectral norm per step (0.02).
    public var learningRate: Schedule
    /// β of the momentum `M ← β·M + (1 − β)·G` (0.95).
    public var momentum: Double
    /// Orthogonalize `(1 − β)·G + β·M` instead of M (true).
    public var nesterov: Bool
    /// Newton–Schulz steps (5).
    public var steps: Int
    /// Decoupled weight decay of matrix parameters' weight columns (0).
    public var weightDecay: Double
    /// The step of vectors and embedding tables (AdamW, lr 3e-4).
    public var adam: AdamSettings

    public init(
        learningRate: Schedule = 0.02, momentum: Double = 0.95, nesterov: Bool = true, steps: Int = 5,
        weightDecay: Double = 0, adam: AdamSettings = AdamSettings(learningRate: 3e-4, weightDecayMode: .decoupled)
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.steps = steps
        self.weightDecay = weightDecay
        self.adam = adam
    }

    public func validate(_ operation: NGError.Operation) throws(NGError) {
        try matrixStep.validate(operation)
        try operation.requireFraction(momentum, "momentum")
        try operation.require(steps, in: 1...100, "steps")
        try adam.validate(operation)
    }
}

/// Muon's direction for one matrix parameter G (r × c): `M′ = β·M + (1 − β)·G`,
/// `U = (1 − β)·G + β·M′` (Nesterov) or `M′`, then `NewtonSchulz` on U, times
/// `√max(1, r/c)`.
public struct Muon<Scalar: BLASScalar>: MatrixTransform {
    public typealias MatrixRule = MomentumSGD<Scalar>
    public typealias VectorRule = Adam<Scalar>
    public static var stateKind: String { "MuonOptimizer" }
    var momentum: Staged<Matrix<Scalar>>
    var orthogonalization: NewtonSchulz<Scalar>

    /// Each Newton–Schulz iteration on the s × l momentum (s the shorter side): the Gram matrix
    /// by SYRK (s²l), its polynomial (2s³) and the product with X (2s²l).
    public static func extraFlopsPerStep(shape: Shape, settings: MuonSettings) -> Double {
        let (s, l) = (Double(Swift.min(shape.rows, shape.columns)), Double(Swift.max(shape.rows, shape.columns)))
        return Double(settings.steps) * (3 * s * s * l + 2 * s * s * s)
    }

    public init(shape: Shape, settings: MuonSettings) {
        momentum = Staged(Matrix(rows: shape.rows, columns: shape.columns))
        orthogonalization = NewtonSchulz(rows: shape.rows, columns: shape.columns)
    }

    public mutating func stage(_ direction: inout Matrix<Scalar>, settings: MuonSettings, t: Int) -> Bool {
        let beta = Scalar(settings.momentum)
        withViews(momentum.current, direction, mutating: &momentum.staged) { m, g, staged in
            staged.update(from: m)
            BLAS.scal(beta, staged.flattened)
            BLAS.axpy(1 - beta, g.flattened, into: staged.flattened)
        }
        momentum.staged.withView { staged in
            direction.withMutableView { u in
                if settings.nesterov {
                    BLAS.scal(1 - beta, u.flattened)
                    BLAS.axpy(beta, staged.flattened, into: u.flattened)
                } else {
                    u.update(from: staged)
                }
            }
        }
        orthogonalization.orthogonalize(&direction, steps: settings.steps)
        let aspect = Swift.max(1, Double(direction.rows) / Double(direction.columns)).squareRoot()
        direction.withMutableView { BLAS.scal(Scalar(aspect), $0.flattened) }
        return direction.withView { $0.isAllFinite } && momentum.staged.withView { $0.isAllFinite }
    }

    public mutating func commitStaged() {
        momentum.commit()
    }

    public func encode(to writer: inout StateWriter) {
        writer.write(momentum.current)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        try reader.read(into: &momentum.current, what: "Muon momentum")
    }
}
