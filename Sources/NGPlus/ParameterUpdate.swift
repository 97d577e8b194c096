/// The first-order end of every optimizer's step, all or nothing: the rule's new state and the
/// new weight are computed aside, checked, and put in use only by `commit`, together with
/// whatever else the step staged (a new inverse, a momentum, the step count).
struct ParameterUpdate<Rule: FirstOrderRule>: Sendable {
    typealias Scalar = Rule.Scalar
    var rule: Rule
    /// Workspace: the gradient or the preconditioned direction, then the update.
    var direction: Matrix<Scalar>
    /// Workspace: the new weight, exchanged with the caller's on commit.
    var newWeight: Matrix<Scalar>

    init(shape: Shape) {
        rule = Rule(shape: shape)
        direction = Matrix(rows: shape.rows, columns: shape.columns)
        newWeight = direction
    }

    /// Stages the rule's step from `direction`.
    /// - Throws: `nonFinite` (argument `update`) when a new weight or state value overflows,
    ///   with nothing in use changed.
    mutating func stage(
        weight: Matrix<Scalar>, weightColumns: Int, settings: Rule.Settings, t: Int, _ operation: NGError.Operation
    ) throws(NGError) {
        let finite = rule.stage(
            direction: &direction, weight: weight, into: &newWeight, weightColumns: weightColumns,
            settings: settings, t: t)
        guard finite else {
            let index = newWeight.firstNonFiniteIndex() ?? direction.firstNonFiniteIndex() ?? 0
            throw .nonFinite(
                operation: operation, argument: "update (finite inputs whose products overflow)",
                row: index / weight.columns, column: index % weight.columns)
        }
    }

    /// Puts the staged state in use and the new weight in the caller's matrix (an exchange
    /// of storage, no copy).
    mutating func commit(weight: inout Matrix<Scalar>) {
        rule.commitStaged()
        swap(&weight, &newWeight)
    }
}
