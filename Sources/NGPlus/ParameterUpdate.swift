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

    /// An embedding table's looked-up rows (nil for other layers).
    var touched: TouchedRows?

    /// Workspaces of the parameter's shape; for an embedding table, of the rows one step
    /// touches (grown by `gatherRows` when a step touches more).
    init(spec: LayerSpec) {
        let shape = spec.parameterShape
        var rows = shape.rows
        if case let .embedding(vocabulary, _) = spec {
            touched = TouchedRows(vocabulary: vocabulary)
            rows = 1
        }
        rule = Rule(shape: shape, stagedRows: rows)
        direction = Matrix(rows: rows, columns: shape.columns)
        newWeight = direction
    }

    /// Puts a validated gradient in `direction` (a dense layer's formed from its inputs and
    /// output gradients).
    mutating func load(_ gradient: LayerGradient<Scalar>) {
        gradient.write(into: &direction)
    }

    /// Where a sparse step gathers its rows' gradients.
    enum GatherTarget {
        /// `direction`: a first-order step reads them there.
        case direction
        /// `newWeight`: a preconditioned step computes its direction from them there before the
        /// rule overwrites `newWeight`.
        case newWeight
    }

    /// Gathers a sparse step's looked-up rows and their summed output gradients into the first
    /// rows of `target`; `touched` holds the rows until `resetRows` ends the step.
    /// - Precondition: an embedding table's update.
    mutating func gatherRows(lookups: [Int], outputGradients: Matrix<Scalar>, into target: GatherTarget) {
        guard var rows = touched else { preconditionFailure("a sparse step of a layer that is not an embedding table") }
        touched = nil
        // Room for every lookup's row (at most that many are distinct): grown, once, for a
        // step with more lookups than any before.
        if direction.rows < lookups.count {
            direction = Matrix(rows: lookups.count, columns: direction.columns)
            newWeight = direction
            rule.reserveStagedRows(lookups.count)
        }
        switch target {
        case .newWeight: rows.gather(lookups: lookups, outputGradients: outputGradients, into: &newWeight)
        case .direction: rows.gather(lookups: lookups, outputGradients: outputGradients, into: &direction)
        }
        touched = rows
    }

    /// Throws `NonFiniteTableRow` (its `nonFinite` error names the weight) when a looked-up row
    /// of the table is not finite: a fault of the caller's weights, which no policy skips.
    func requireFiniteRows(of table: Matrix<Scalar>, _ operation: NGError.Operation) throws(NonFiniteTableRow) {
        guard let rows = touched?.rows else { return }
        // An index loop: `first(where:)` reached unspecialized allocates.
        var bad = -1
        table.withView { t in
            for k in 0..<rows.count where !t.rows(rows[k]..<rows[k] + 1).isAllFinite {
                bad = rows[k]
                return
            }
        }
        guard bad >= 0 else { return }
        let column = table.withView { t in (0..<t.columns).first { !t[bad, $0].isFinite } } ?? 0
        throw NonFiniteTableRow(error: .nonFinite(operation: operation, argument: "weight", row: bad, column: column))
    }

    /// Ends a sparse step: forgets its rows.
    mutating func resetRows() {
        touched?.reset()
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

    /// Stages the rule's lazy step of the gathered rows of an embedding table from the first
    /// rows of `direction` (`FirstOrderRule.stageRows`); the new rows go to the first rows of
    /// `newWeight`.
    /// - Throws: `nonFinite` (argument `update`) when a new value overflows; nothing in use
    ///   changed.
    mutating func stageRows(
        weight: Matrix<Scalar>, settings: Rule.Settings, t: Int, _ operation: NGError.Operation
    ) throws(NGError) {
        // The rows are read, never held past the call: `resetRows` then changes them in place.
        guard let rows = touched?.rows else { preconditionFailure("rows staged before they were gathered") }
        guard rule.stageRows(rows, direction: &direction, weight: weight, into: &newWeight, settings: settings, t: t) else {
            let k = newWeight.withView { w in
                direction.withView { d in
                    (0..<rows.count).first { !(w.rows($0..<$0 + 1).isAllFinite && d.rows($0..<$0 + 1).isAllFinite) }
                }
            }
            throw .nonFinite(
                operation: operation, argument: "update (finite inputs whose products overflow)", row: rows[k ?? 0],
                column: 0)
        }
    }

    /// Puts the staged rows' state in use and writes their new weights into the table.
    mutating func commitRows(weight: inout Matrix<Scalar>) {
        guard let rows = touched?.rows else { preconditionFailure("rows committed before they were gathered") }
        rule.commitStagedRows(rows)
        scatterRows(rows, from: newWeight, into: &weight)
    }

    /// Puts the staged state in use and the new weight in the caller's matrix (an exchange
    /// of storage, no copy).
    mutating func commit(weight: inout Matrix<Scalar>) {
        rule.commitStaged()
        swap(&weight, &newWeight)
    }
}

/// A looked-up row of an embedding table that is not finite, found by a sparse step after it
/// gathered the rows: the caller's weights are corrupt, so `LayerTable` reports `error` even
/// under `NonFiniteStepPolicy.skipStep`.
struct NonFiniteTableRow: Error {
    let error: NGError
}
