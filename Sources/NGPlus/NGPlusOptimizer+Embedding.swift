/// NG+ on an embedding table: the right-side GFIM of the lookups' output gradients, applied to
/// the looked-up rows (`EmbeddingCurvature`), then the lazy momentum-SGD step of those rows.
extension NGPlusOptimizer.Layer {
    /// One sparse step from validated lookups and output gradients, all or nothing: the rows
    /// gathered, the statistics staged on a statistics step, a refresh staged when due, the
    /// direction of the rows computed with the staged or current inverse, the SGD step of the
    /// rows staged and checked, then everything committed.
    mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
        _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws {
        let (due, statisticsStep) = (isRefreshStep(configuration), isStatisticsStep(configuration))
        let damping = configuration.dampingRule(for: spec, step: step)
        let runningAverage = Scalar(configuration.runningAverage)
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        update.gatherRows(lookups: lookups, outputGradients: outputGradients, preconditioned: true)
        defer { update.resetRows() }
        try update.requireFiniteRows(of: table, operation)
        let ahead = due ? refreshAhead : nil
        try curvature.withEmbedding(&update) { (curvature, update) throws(NGError) in
            do throws(NGError) {
                if statisticsStep {
                    try curvature.stageStatistics(
                        outputGradients: outputGradients, touched: update.touched!, runningAverage: runningAverage,
                        operation)
                }
                slot = try ahead.stagedRefresh(of: &curvature, due: due, damping: damping, outcome: &outcome)
                curvature.applyToRows(
                    update.newWeight, touched: update.touched!, into: &update.direction, slot: slot, frequencyShift: 0)
                try update.stageRows(
                    weight: table, settings: PreconditionedStepSettings(sgd: configuration.sgd, adam: configuration.adam),
                    t: step, operation)
            } catch {
                curvature.discardStagedStatistics()
                throw error
            }
            curvature.commitStatistics(update.touched!)
            if slot == .staged { curvature.commitRefresh() }
            update.commitRows(weight: &table)
        }
        if let outcome { health.record(outcome) }
        refreshAhead = nil
        observedStep = step
        step += 1
    }
}
