/// What a statistics-free optimizer does to a matrix parameter's gradient before its
/// first-order rule steps along it — Muon's orthogonalized momentum, Shampoo's preconditioned and
/// grafted gradient, or nothing (`FirstOrderTransform`: SGD, Adam) — keeping state of its own
/// that it stages with the step and commits only with it.
///
/// `TransformedOptimizer` runs one per dense, convolution and matrix parameter (`W̃`, the bias
/// column included), then steps along the direction by `MatrixRule` with `matrixStep(_:)`;
/// vectors and embedding tables take `VectorRule` with `vectorStep(_:)`.
public protocol MatrixTransform: Sendable {
    associatedtype Scalar: BLASScalar
    associatedtype Settings: Sendable, Codable
    /// The rule that steps a matrix parameter along the direction.
    associatedtype MatrixRule: FirstOrderRule where MatrixRule.Scalar == Scalar
    /// The rule that steps vectors and embedding tables.
    associatedtype VectorRule: FirstOrderRule where VectorRule.Scalar == Scalar

    /// The optimizer name its states are saved under and its errors carry.
    static var stateKind: String { get }

    /// Throws `invalidArgument` for a setting out of its range.
    static func validate(_ settings: Settings, _ operation: NGError.Operation) throws(NGError)

    /// The settings of the matrix parameters' rule.
    static func matrixStep(_ settings: Settings) -> MatrixRule.Settings

    /// The settings of the vectors' and tables' rule.
    static func vectorStep(_ settings: Settings) -> VectorRule.Settings

    /// Fresh state for a parameter of `shape` (at least 1 × 1).
    init(shape: Shape, settings: Settings)

    /// The flops of a step of a parameter of `shape`, amortized over its intervals.
    static func extraFlopsPerStep(shape: Shape, settings: Settings) -> Double

    /// Replaces the gradient in `direction` by the direction at step count t (from 0), with the
    /// new state computed aside. Returns whether every new value is finite; nothing is in use
    /// until `commitStaged`.
    mutating func stage(_ direction: inout Matrix<Scalar>, settings: Settings, t: Int) -> Bool

    /// Puts the state of the last `stage` in use.
    mutating func commitStaged()

    func encode(to writer: inout StateWriter)
    mutating func restore(from reader: inout StateReader) throws(NGError)
}

/// The settings of a transform whose matrix parameters step along its direction by a learning
/// rate and decoupled weight decay, and whose vectors and tables take Adam (Muon, Shampoo):
/// checked once, saved with every state.
public protocol TransformSettings: Sendable, Codable, Equatable {
    /// Throws `invalidArgument` for a value out of its range.
    func validate(_ operation: NGError.Operation) throws(NGError)

    /// The learning rate of the matrix parameters' steps.
    var learningRate: Schedule { get }

    /// The decoupled weight decay of the matrix parameters (their weight columns only).
    var weightDecay: Double { get }

    /// The Adam step of vectors and embedding tables.
    var adam: AdamSettings { get }
}

extension TransformSettings {
    /// The step along a matrix parameter's direction: learning rate and decoupled weight decay,
    /// no momentum of its own.
    var matrixStep: SGDSettings {
        SGDSettings(learningRate: learningRate, momentum: 0, weightDecay: weightDecay, weightDecayMode: .decoupled)
    }
}

extension MatrixTransform
where Settings: TransformSettings, MatrixRule == MomentumSGD<Scalar>, VectorRule == Adam<Scalar> {
    public static func validate(_ settings: Settings, _ operation: NGError.Operation) throws(NGError) {
        try settings.validate(operation)
    }

    /// The learning rate and decoupled weight decay, without momentum.
    public static func matrixStep(_ settings: Settings) -> SGDSettings { settings.matrixStep }

    /// `adam`.
    public static func vectorStep(_ settings: Settings) -> AdamSettings { settings.adam }
}
