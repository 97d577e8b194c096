/// One registered layer's record in a `LayerwiseOptimizer`: the state an optimizer keeps for
/// the layer and the two halves of its step. `LayerwiseOptimizer` validates every argument,
/// then calls `stage` (everything computed aside and checked; it may throw) and, only when
/// staging succeeded, `commit` (puts it all in use; it cannot fail). So every optimizer has one
/// step algorithm — validate → stage → check → commit — and a record never sees bad input.
///
/// Conform to add an optimizer (DESIGN.md, "Extending"): `CurvatureLayer` (NG+, K-FAC) and
/// `TransformedLayer` (SGD, Adam, Muon, Shampoo) are the package's records.
public protocol LayerRecord: Sendable {
    associatedtype Scalar: BLASScalar
    /// The optimizer's settings, handed to every call and saved with every state.
    associatedtype Settings: Sendable, Codable

    /// The optimizer's name in saved states and errors.
    static var stateKind: String { get }

    /// The oldest state-file format whose layers this record reads (`StateFile`).
    static var oldestStateVersion: Int { get }

    /// Throws `invalidArgument` (or `nonPositiveDamping`) for a setting out of range.
    static func validate(_ settings: Settings, _ operation: NGError.Operation) throws(NGError)

    /// The record of a validated layer spec; `index` is the number of layers registered before.
    init(spec: LayerSpec, index: Int, settings: Settings, _ operation: NGError.Operation) throws(NGError)

    /// What the layer was registered as.
    var spec: LayerSpec { get }

    /// The steps the layer has taken.
    var step: Int { get }

    /// Whether the coming step uses an observation (only then are its values scanned).
    func usesObservation(_ settings: Settings) -> Bool
    /// The flops a step of this layer makes beyond the model's forward and backward passes
    /// (whose weight gradient a model's flop account counts): statistics, refreshes and
    /// preconditioning, amortized over their intervals, at the configured batch. A first-order
    /// rule's elementwise update is not counted, as a model's elementwise work is not.
    func extraFlopsPerStep(_ settings: Settings) -> Double
    /// Of `extraFlopsPerStep`, what forming a conv2d layer's per-sample gradients costs, which
    /// a layer that hands them over spares the optimizer (0 where `takesSampleGradients` never
    /// holds).
    func sampleGradientFlopsPerStep(_ settings: Settings) -> Double

    /// Takes the statistics of validated inputs and output gradients, all or nothing.
    mutating func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ settings: Settings, _ operation: NGError.Operation
    ) throws(NGError)

    /// Whether the coming step's statistics may be a conv2d layer's per-sample gradients
    /// (`observe(sampleGradients:_:_:)`) in place of its inputs and output gradients.
    func takesSampleGradients(_ settings: Settings) -> Bool

    /// Takes the statistics of validated per-sample gradients, (K + 1) × (B·c_out), all or
    /// nothing; called only when `takesSampleGradients`.
    mutating func observe(
        sampleGradients: Matrix<Scalar>, _ settings: Settings, _ operation: NGError.Operation
    ) throws(NGError)

    /// Computes the step from a validated gradient aside — direction, new state, new weight —
    /// and checks it; nothing in use changes. `refresh`, when not nil, is the coming step's
    /// refresh made or adopted ahead of it (`makeSharedRefresh`, `adoptSharedRefresh`), used
    /// instead of staging one. `index` names the layer in errors. Throws an `NGError`, or
    /// `OptimizerError.missingStatistics`.
    mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, refresh: RefreshAhead?, index: Int,
        _ settings: Settings, _ operation: NGError.Operation
    ) throws

    /// Puts what the last successful `stage` computed in use: the new weight in `weight`, the
    /// new state in the record, and counts the step.
    mutating func commit(weight: inout Matrix<Scalar>)

    /// One sparse step of an embedding table from validated lookups (and output gradients of
    /// their shape, whose values the record checks), all or nothing
    /// (`LayerOptimizer.step(_:table:lookups:outputGradients:)`).
    mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int, _ settings: Settings,
        _ operation: NGError.Operation
    ) throws

    /// What a data-parallel run shares of the coming step's statistics (`StatisticsSharing`).
    func sharedStatistics(_ settings: Settings) -> SharedStatistics

    /// Visits the summed statistics' buffers in place; called only when `sharedStatistics`
    /// sums some.
    mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void)

    /// The rows of this process's low-rank factor (when `sharedStatistics` gathers rows; 0
    /// otherwise).
    var factorRowsInUse: Int { get }

    /// Visits the low-rank factor grown to `totalRows` rows; called only when
    /// `sharedStatistics` gathers rows.
    mutating func withGatheredRows(totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void)

    /// The coming step's refresh when one process makes it for all (`StatisticsSharing`).
    func sharedRefresh(_ settings: Settings) -> SharedRefresh?

    /// Makes the coming step's refresh ahead of it and writes its record (the owner); called
    /// only when `sharedRefresh` is not nil, with buffers of its sizes. The step is handed
    /// what this returns.
    mutating func makeSharedRefresh(
        values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>, index: Int,
        _ settings: Settings, _ operation: NGError.Operation
    ) throws -> RefreshAhead

    /// Adopts the owner's record as the coming step's refresh; called only when
    /// `sharedRefresh` is not nil, with a record of its sizes. The step is handed what this
    /// returns.
    mutating func adoptSharedRefresh(values: Span<Scalar>, figures: Span<Double>) -> RefreshAhead

    /// The layer's state (the spec is saved by the optimizer).
    func encode(to writer: inout StateWriter)

    /// Restores what `encode` wrote; the optimizer discards the record on a throw.
    mutating func restore(from reader: inout StateReader) throws(NGError)
}

extension LayerRecord {
    /// Every format the library reads.
    public static var oldestStateVersion: Int { StateFile.oldestVersion }
}

/// The gradient a step starts from.
public enum LayerGradient<Scalar: BLASScalar> {
    /// `G̃` itself, of the layer's parameter shape.
    case matrix(Matrix<Scalar>)
    /// A dense layer's inputs `X` (B × n) and output gradients `dY` (B × m), whose weight
    /// gradient is `G̃ = dYᵀ·[X | 1]` (or `dYᵀ·X` without a bias); NG+ applies its inverse
    /// without forming it.
    case dense(inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool)
}

extension LayerGradient {
    /// Writes `G̃` into `target` (the parameter's shape), forming it for a dense layer.
    func write(into target: inout Matrix<Scalar>) {
        switch self {
        case let .matrix(gradient):
            copy(gradient, into: &target)
        case let .dense(inputs, outputGradients, bias):
            DenseGradient.weightGradientUnchecked(
                inputs: inputs, outputGradients: outputGradients, bias: bias, into: &target)
        }
    }
}

/// A record that keeps no statistics and makes no refresh (first-order rules, Muon, Shampoo):
/// it shares nothing in a data-parallel run but its gradients. `LayerwiseOptimizer` refuses
/// every statistics call for its layers before a record sees it, so these are never reached.
public protocol StatisticsFreeRecord: LayerRecord {}

extension StatisticsFreeRecord {
    public func usesObservation(_ settings: Settings) -> Bool { false }

    public func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ settings: Settings, _ operation: NGError.Operation
    ) {}

    public func takesSampleGradients(_ settings: Settings) -> Bool { false }
    public func sampleGradientFlopsPerStep(_ settings: Settings) -> Double { 0 }

    public func observe(sampleGradients: Matrix<Scalar>, _ settings: Settings, _ operation: NGError.Operation) {}

    public func sharedStatistics(_ settings: Settings) -> SharedStatistics { .none }
    public func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void) {}
    public var factorRowsInUse: Int { 0 }
    public func withGatheredRows(totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void) {}
    public func sharedRefresh(_ settings: Settings) -> SharedRefresh? { nil }

    public func makeSharedRefresh(
        values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>, index: Int,
        _ settings: Settings, _ operation: NGError.Operation
    ) -> RefreshAhead { .inUse }

    public func adoptSharedRefresh(values: Span<Scalar>, figures: Span<Double>) -> RefreshAhead {
        .inUse
    }
}
