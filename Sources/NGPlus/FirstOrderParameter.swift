/// One parameter stepped by a first-order rule: the rule's state and workspaces
/// (`ParameterUpdate`) and the steps taken — the end of every `TransformedLayer`'s step.
struct FirstOrderParameter<Rule: FirstOrderRule>: Sendable {
    typealias Scalar = Rule.Scalar
    var update: ParameterUpdate<Rule>
    var step = 0

    init(spec: LayerSpec) {
        update = ParameterUpdate(spec: spec)
    }

    /// The rule's step along the direction in `update.direction`, staged and checked.
    mutating func stageDirection(
        weight: Matrix<Scalar>, weightColumns: Int, _ settings: Rule.Settings, _ operation: NGError.Operation
    ) throws(NGError) {
        try update.stage(weight: weight, weightColumns: weightColumns, settings: settings, t: step, operation)
    }

    /// The rule's step along the gradient, staged and checked.
    mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, weightColumns: Int, _ settings: Rule.Settings,
        _ operation: NGError.Operation
    ) throws(NGError) {
        update.load(gradient)
        try stageDirection(weight: weight, weightColumns: weightColumns, settings, operation)
    }

    /// Puts the staged step in use and counts it.
    mutating func commit(weight: inout Matrix<Scalar>) {
        update.commit(weight: &weight)
        step += 1
    }

    /// The rule's lazy step of an embedding table's looked-up rows, all or nothing.
    mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, _ settings: Rule.Settings,
        _ operation: NGError.Operation
    ) throws {
        update.gatherRows(lookups: lookups, outputGradients: outputGradients, into: .direction)
        defer { update.resetRows() }
        do {
            try update.stageRows(weight: table, settings: settings, t: step, operation)
        } catch {
            // A non-finite output gradient or looked-up weight makes a new value non-finite, so
            // the stage's own check stands for two passes over them; only a refused step looks
            // at them, to name the first fault as the checks did when they came first.
            try outputGradients.requireFinite(operation, "outputGradients")
            try update.requireFiniteRows(of: table, operation)
            throw error
        }
        update.commitRows(weight: &table)
        step += 1
    }

    /// The step count and the rule's state.
    func encode(to writer: inout StateWriter) {
        writer.write(step)
        update.rule.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        step = try reader.readStepCount()
        try update.rule.restore(from: &reader)
    }
}
