/// One sparse step of an embedding table, the same for NG+ and K-FAC.
struct EmbeddingStepRequest<Scalar: BLASScalar> {
    /// Whether this step takes statistics, and whether a refresh is due.
    let statisticsStep: Bool
    let due: Bool
    let damping: DampingRule
    let runningAverage: Scalar
    /// The layer's step count, for the rule's schedule.
    let t: Int
}

extension EmbeddingCurvature {
    /// A sparse step from validated lookups and output gradients of their shape, all or
    /// nothing (a fault in their values or the looked-up weights is named after it): the rows
    /// gathered, the statistics staged on a statistics step, a refresh staged when due, the
    /// rows' direction applied with the staged or current inverse (and grafted on Adam's step
    /// of the rows when `graft` is not empty), the rule's step of the rows staged and checked,
    /// then statistics, refresh, graft and rows committed. Returns the refresh's outcome (nil:
    /// none was due) for `RefreshHealth`.
    mutating func step<Rule: FirstOrderRule>(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>,
        update: inout ParameterUpdate<Rule>, graft: inout AdamGraft<Scalar>, settings: Rule.Settings,
        _ request: EmbeddingStepRequest<Scalar>, _ operation: NGError.Operation
    ) throws -> RefreshOutcome? where Rule.Scalar == Scalar {
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        update.gatherRows(lookups: lookups, outputGradients: outputGradients, into: .newWeight)
        defer { update.resetRows() }
        do {
            if request.statisticsStep {
                try stageStatistics(
                    outputGradients: outputGradients, touched: update.touched!, runningAverage: request.runningAverage,
                    operation)
            }
            slot = try stageRefresh(due: request.due, damping: request.damping, outcome: &outcome)
            applyToRows(
                update.newWeight, touched: update.touched!, into: &update.direction, slot: slot,
                frequencyShift: Scalar(request.damping.shift()))
            if !graft.isEmpty {
                guard graft.graftRows(&update.direction, gradientRows: update.newWeight, rows: update.touched!.rows, t: request.t)
                else { throw graft.overflow(operation) }
            }
            try update.stageRows(weight: table, settings: settings, t: request.t, operation)
        } catch {
            discardStagedStatistics()
            // A non-finite output gradient or looked-up weight makes the statistics, the
            // direction or a new weight non-finite, so the checks on the way stand for two passes
            // over them; only a refused step looks at them, to name the first fault as the checks
            // did when they came first.
            try outputGradients.requireFinite(operation, "outputGradients")
            try update.requireFiniteRows(of: table, operation)
            throw error
        }
        commitStatistics(update.touched!)
        if slot == .staged { commitRefresh() }
        graft.commitStagedRows(update.touched!.rows)
        update.commitRows(weight: &table)
        return outcome
    }
}
