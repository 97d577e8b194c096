/// K-FAC on an embedding table: its output factor is NG+'s right-side GFIM and its input factor
/// the diagonal of row frequencies (`EmbeddingCurvature` with `rowFrequencies`), both applied to
/// the looked-up rows only, then the lazy momentum-SGD step of those rows.
extension KFACOptimizer.Layer {
    /// One sparse step from validated lookups and output gradients, all or nothing: the
    /// direction `diag(a + √λ)⁻¹·G_rows·(G + √λ·I)⁻¹`, the output factor's inverse refreshed
    /// every k steps and the frequencies as of this step (they need no factorization).
    mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
        _ configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws {
        let statisticsStep = step % configuration.resolvedStatisticsInterval == 0
        let due = isRefreshStep(configuration)
        let damping = dampingRule(configuration)
        let shift = Scalar(damping.shift(maxAbsolute: 0))
        let runningAverage = Scalar(configuration.runningAverage)
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        update.gatherRows(lookups: lookups, outputGradients: outputGradients, preconditioned: true)
        defer { update.resetRows() }
        try update.requireFiniteRows(of: table, operation)
        guard var curvature = embedding else { preconditionFailure("an embedding table without its curvature") }
        embedding = nil
        defer { embedding = curvature }
        let ahead = due ? refreshAhead : nil
        do throws(NGError) {
            if statisticsStep {
                try curvature.stageStatistics(
                    outputGradients: outputGradients, touched: update.touched!, runningAverage: runningAverage, operation)
            }
            slot = try ahead.stagedRefresh(of: &curvature, due: due, damping: damping, outcome: &outcome)
            curvature.applyToRows(
                update.newWeight, touched: update.touched!, into: &update.direction, slot: slot, frequencyShift: shift)
            try update.stageRows(weight: table, settings: configuration.sgd, t: step, operation)
        } catch {
            curvature.discardStagedStatistics()
            throw error
        }
        curvature.commitStatistics(update.touched!)
        if slot == .staged { curvature.commitRefresh() }
        update.commitRows(weight: &table)
        if let outcome { health.record(outcome) }
        refreshAhead = nil
        observedStep = step
        step += 1
    }
}
