/// A rule that turns a matrix parameter's gradient into the direction of its step — Muon's
/// orthogonalized momentum, Shampoo's preconditioned and grafted gradient — keeping state of
/// its own that it stages with the step and commits only with it.
///
/// `TransformedOptimizer` runs one per dense, convolution and matrix parameter (`W̃`, the bias
/// column included), then steps along the direction with the settings' learning rate and
/// decoupled weight decay; vectors and embedding tables take Adam with the settings' `adam`.
public protocol MatrixTransform: Sendable {
    associatedtype Scalar: BLASScalar
    associatedtype Settings: TransformSettings

    /// The optimizer name its states are saved under and its errors carry.
    static var stateKind: String { get }

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

/// The settings of a `MatrixTransform`: checked once, saved with every state.
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
