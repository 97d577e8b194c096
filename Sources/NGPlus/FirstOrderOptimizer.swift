/// A per-parameter first-order update rule: the state it keeps for one parameter and one step
/// from a gradient. Rules are the baselines' whole update (`SGDOptimizer`, `AdamOptimizer`) and
/// the step that follows preconditioning in NG+ and K-FAC.
public protocol FirstOrderRule: Sendable {
    associatedtype Scalar: BLASScalar
    associatedtype Settings: Sendable, Codable

    /// The optimizer name its states are saved under.
    static var stateKind: String { get }

    /// Throws `invalidArgument` for a setting out of range.
    static func validate(_ settings: Settings, _ operation: NGError.Operation) throws(NGError)

    /// Fresh state for a parameter of `shape`, with room for `stagedRows` rows of staged state:
    /// the shape's rows, or for an embedding table the rows one step touches (a table's staged
    /// state is its touched rows only, so that it costs no second table), grown by
    /// `reserveStagedRows`.
    init(shape: Shape, stagedRows: Int)

    /// Makes room for `count` rows of staged state (allocating only when there is less).
    mutating func reserveStagedRows(_ count: Int)

    /// One step at step count t (from 0) from the gradient in `direction`, computed aside:
    /// the rule's new state into its own workspace and the new weight into `newWeight` (W's
    /// shape), reading `weight` and the current state only. `direction` is overwritten with
    /// the update. `weightColumns`: the columns of W̃ that are weights (the rest is a bias,
    /// exempt from weight decay). Returns whether every new value is finite; nothing is in
    /// use until `commitStaged`.
    mutating func stage(
        direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newWeight: inout Matrix<Scalar>,
        weightColumns: Int, settings: Settings, t: Int) -> Bool

    /// Puts the state of the last `stage` in use.
    mutating func commitStaged()

    /// The lazy step of an embedding table's looked-up rows at step count t: row k of
    /// `direction` holds the gradient of table row `rows[k]`; the rows' new weights go to row k
    /// of `newRows` and their new state aside, reading `weight` (the whole table) and the
    /// current state only. Rows not looked up, and their state, do not change (PyTorch's
    /// `SparseAdam` semantics: no decay, no momentum drift for them). Returns whether every
    /// new value is finite; nothing is in use until `commitStagedRows`.
    mutating func stageRows(
        _ rows: [Int], direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newRows: inout Matrix<Scalar>,
        settings: Settings, t: Int) -> Bool

    /// Puts the state of the last `stageRows` in use, for its rows.
    mutating func commitStagedRows(_ rows: [Int])

    func encode(to writer: inout StateWriter)
    mutating func restore(from reader: inout StateReader) throws(NGError)
}

/// The SGD baseline: momentum, Nesterov, weight decay and clipping of `SGDSettings`; NG+ with
/// `F̂⁻¹ = I`.
public typealias SGDOptimizer<Scalar: BLASScalar> = FirstOrderOptimizer<MomentumSGD<Scalar>>

/// The Adam / AdamW baseline of `AdamSettings`.
public typealias AdamOptimizer<Scalar: BLASScalar> = FirstOrderOptimizer<Adam<Scalar>>

/// A first-order optimizer: one `Rule` per registered layer, behind the same protocol as NG+
/// so that the baselines run in the same training code. Statistics are validated and ignored.
public typealias FirstOrderOptimizer<Rule: FirstOrderRule> = TransformedOptimizer<FirstOrderTransform<Rule>>

/// No transform: the gradient is the direction, and `Rule`, with the optimizer's settings,
/// steps every parameter. It keeps no state: a layer saves its step count and the rule's state,
/// as it did before SGD and Adam shared `TransformedLayer`.
public struct FirstOrderTransform<Rule: FirstOrderRule>: MatrixTransform {
    public typealias Scalar = Rule.Scalar
    public typealias MatrixRule = Rule
    public typealias VectorRule = Rule

    public static var stateKind: String { Rule.stateKind }

    public static func validate(_ settings: Rule.Settings, _ operation: NGError.Operation) throws(NGError) {
        try Rule.validate(settings, operation)
    }

    public static func matrixStep(_ settings: Rule.Settings) -> Rule.Settings { settings }
    public static func vectorStep(_ settings: Rule.Settings) -> Rule.Settings { settings }

    public init(shape: Shape, settings: Rule.Settings) {}

    /// None: the rule's update is elementwise.
    public static func extraFlopsPerStep(shape: Shape, settings: Rule.Settings) -> Double { 0 }

    /// The gradient, as it is.
    public func stage(_ direction: inout Matrix<Scalar>, settings: Rule.Settings, t: Int) -> Bool { true }

    public func commitStaged() {}
    public func encode(to writer: inout StateWriter) {}
    public func restore(from reader: inout StateReader) {}
}
