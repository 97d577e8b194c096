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
public typealias FirstOrderOptimizer<Rule: FirstOrderRule> = LayerwiseOptimizer<FirstOrderLayer<Rule>>

/// A first-order optimizer's record of one layer: the rule's state and its step.
public struct FirstOrderLayer<Rule: FirstOrderRule>: StatisticsFreeRecord {
    public typealias Scalar = Rule.Scalar
    public static var stateKind: String { Rule.stateKind }
    public let spec: LayerSpec
    public private(set) var step = 0
    var update: ParameterUpdate<Rule>

    public static func validate(_ settings: Rule.Settings, _ operation: NGError.Operation) throws(NGError) {
        try Rule.validate(settings, operation)
    }

    public init(spec: LayerSpec, index: Int, settings: Rule.Settings, _ operation: NGError.Operation) {
        self.spec = spec
        update = ParameterUpdate(spec: spec)
    }

    /// None: the rule's update is elementwise.
    public func extraFlopsPerStep(_ settings: Rule.Settings) -> Double { 0 }

    @_specialize(where Rule == MomentumSGD<Float>)
    @_specialize(where Rule == MomentumSGD<Double>)
    @_specialize(where Rule == Adam<Float>)
    @_specialize(where Rule == Adam<Double>)
    public mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, refresh: RefreshAhead?, index: Int,
        _ settings: Rule.Settings, _ operation: NGError.Operation
    ) throws(NGError) {
        update.load(gradient)
        try update.stage(weight: weight, weightColumns: spec.weightColumns, settings: settings, t: step, operation)
    }

    @_specialize(where Rule == MomentumSGD<Float>)
    @_specialize(where Rule == MomentumSGD<Double>)
    @_specialize(where Rule == Adam<Float>)
    @_specialize(where Rule == Adam<Double>)
    public mutating func commit(weight: inout Matrix<Scalar>) {
        update.commit(weight: &weight)
        step += 1
    }

    /// The rule's lazy step of the looked-up rows, all or nothing.
    @_specialize(where Rule == MomentumSGD<Float>)
    @_specialize(where Rule == MomentumSGD<Double>)
    @_specialize(where Rule == Adam<Float>)
    @_specialize(where Rule == Adam<Double>)
    public mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
        _ settings: Rule.Settings, _ operation: NGError.Operation
    ) throws {
        update.gatherRows(lookups: lookups, outputGradients: outputGradients, into: .direction)
        defer { update.resetRows() }
        try update.requireFiniteRows(of: table, operation)
        try update.stageRows(weight: table, settings: settings, t: step, operation)
        update.commitRows(weight: &table)
        step += 1
    }

    public func encode(to writer: inout StateWriter) {
        writer.write(step)
        update.rule.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        step = try reader.readStepCount()
        try update.rule.restore(from: &reader)
    }
}
