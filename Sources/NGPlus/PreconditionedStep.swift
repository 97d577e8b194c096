/// The first-order step NG+ takes along its preconditioned direction: momentum SGD (the
/// authors' default) or, when `NGPlusConfiguration.adam` is set, Adam — the base the authors
/// paired NG+ with for SchNet. Either rule keeps its own state; which one a layer has is fixed
/// by the configuration (saved with every state and compared on load).
enum PreconditionedStep<Scalar: BLASScalar>: FirstOrderRule, InPlacePayload {
    case sgd(MomentumSGD<Scalar>)
    case adam(Adam<Scalar>)
    /// Only while a payload is out (`InPlacePayload`).
    case moving

    typealias Settings = PreconditionedStepSettings

    static var stateKind: String { "NGPlusOptimizer" }

    static func validate(_ settings: Settings, _ operation: NGError.Operation) throws(NGError) {
        switch settings {
        case let .momentumSGD(sgd): try sgd.validate(operation)
        case let .adam(adam): try adam.validate(operation)
        }
    }

    /// Momentum SGD; `NGPlusOptimizer.register` makes it Adam when the configuration asks.
    init(shape: Shape, stagedRows: Int) {
        self = .sgd(MomentumSGD(shape: shape, stagedRows: stagedRows))
    }

    /// The Adam base for a parameter of `shape`.
    init(adamFor shape: Shape, stagedRows: Int) {
        self = .adam(Adam(shape: shape, stagedRows: stagedRows))
    }

    /// Runs the closure of the rule held on the payload, changed in place (`InPlacePayload`).
    mutating func modify<Result, Failure: Error>(
        sgd: (inout MomentumSGD<Scalar>) throws(Failure) -> Result, adam: (inout Adam<Scalar>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        if case .sgd = self {
            try modify({ if case let .sgd(rule) = $0 { rule } else { nil } }, { .sgd($0) }, sgd)
        } else {
            try modify({ if case let .adam(rule) = $0 { rule } else { nil } }, { .adam($0) }, adam)
        }
    }

    /// Runs `sgd` or `adam` on the rule in place with its own settings. The rule was made from
    /// the same configuration as the settings (`CurvatureLayer.init`), so the two always agree.
    mutating func modify<Result>(
        _ settings: Settings, sgd: (inout MomentumSGD<Scalar>, SGDSettings) -> Result,
        adam: (inout Adam<Scalar>, AdamSettings) -> Result
    ) -> Result {
        switch settings {
        case let .momentumSGD(settings):
            return modify(sgd: { sgd(&$0, settings) }, adam: { _ -> Result in Self.disagree() })
        case let .adam(settings):
            return modify(sgd: { _ -> Result in Self.disagree() }, adam: { adam(&$0, settings) })
        }
    }

    static func disagree() -> Never {
        preconditionFailure("NG+'s base rule and its settings name different rules")
    }

    mutating func reserveStagedRows(_ count: Int) {
        modify(sgd: { $0.reserveStagedRows(count) }, adam: { $0.reserveStagedRows(count) })
    }

    mutating func stage(
        direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newWeight: inout Matrix<Scalar>,
        weightColumns: Int, settings: Settings, t: Int
    ) -> Bool {
        modify(
            settings,
            sgd: {
                $0.stage(direction: &direction, weight: weight, into: &newWeight, weightColumns: weightColumns,
                         settings: $1, t: t)
            },
            adam: {
                $0.stage(direction: &direction, weight: weight, into: &newWeight, weightColumns: weightColumns,
                         settings: $1, t: t)
            })
    }

    mutating func commitStaged() {
        modify(sgd: { $0.commitStaged() }, adam: { $0.commitStaged() })
    }

    mutating func stageRows(
        _ rows: [Int], direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newRows: inout Matrix<Scalar>,
        settings: Settings, t: Int
    ) -> Bool {
        modify(
            settings,
            sgd: { $0.stageRows(rows, direction: &direction, weight: weight, into: &newRows, settings: $1, t: t) },
            adam: { $0.stageRows(rows, direction: &direction, weight: weight, into: &newRows, settings: $1, t: t) })
    }

    mutating func commitStagedRows(_ rows: [Int]) {
        modify(sgd: { $0.commitStagedRows(rows) }, adam: { $0.commitStagedRows(rows) })
    }

    func encode(to writer: inout StateWriter) {
        switch self {
        case let .sgd(rule): rule.encode(to: &writer)
        case let .adam(rule): rule.encode(to: &writer)
        case .moving: preconditionFailure("a preconditioned step saved while it is being changed")
        }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        try modify(
            sgd: { (rule) throws(NGError) in try rule.restore(from: &reader) },
            adam: { (rule) throws(NGError) in try rule.restore(from: &reader) })
    }
}

/// The settings of the base rule a preconditioner steps with (`CurvatureSettings.baseRule`):
/// momentum SGD's, or Adam's.
public enum PreconditionedStepSettings: Sendable, Codable, Equatable {
    case momentumSGD(SGDSettings)
    case adam(AdamSettings)

    init(sgd: SGDSettings, adam: AdamSettings?) {
        self = adam.map { .adam($0) } ?? .momentumSGD(sgd)
    }
}
