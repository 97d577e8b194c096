/// NG+ on an embedding table: the right-side GFIM of the lookups' output gradients, applied to
/// the looked-up rows (`EmbeddingCurvature`), then the lazy step of those rows on NG+'s base.
extension NGPlusLayer {
    /// One sparse step from validated lookups and output gradients, all or nothing
    /// (`EmbeddingCurvature.step`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
        _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws {
        let due = isRefreshStep(configuration)
        let request = EmbeddingStepRequest(
            statisticsStep: isStatisticsStep(configuration), due: due,
            damping: configuration.dampingRule(for: spec, step: step), runningAverage: Scalar(configuration.runningAverage),
            frequencyShift: 0, t: step)
        let settings = PreconditionedStepSettings(sgd: configuration.sgd, adam: configuration.adam)
        let outcome = try curvature.withEmbedding(&update) { (curvature, update) throws in
            try curvature.step(
                lookups: lookups, outputGradients: outputGradients, table: &table, update: &update, settings: settings,
                request, operation)
        }
        progress.commitSparseStep(outcome: outcome)
    }
}
