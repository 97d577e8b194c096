/// K-FAC on an embedding table: its output factor is NG+'s right-side GFIM and its input factor
/// the diagonal of row frequencies (`EmbeddingCurvature` with `rowFrequencies`), both applied to
/// the looked-up rows only, then the lazy momentum-SGD step of those rows.
extension KFACLayer {
    /// One sparse step from validated lookups and output gradients, all or nothing: the
    /// direction `diag(a + √λ)⁻¹·G_rows·(G + √λ·I)⁻¹`, the output factor's inverse refreshed
    /// every k steps and the frequencies as of this step (they need no factorization).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
        _ configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws {
        let due = isRefreshStep(configuration)
        let damping = dampingRule(configuration)
        let request = EmbeddingStepRequest(
            statisticsStep: step % configuration.resolvedStatisticsInterval == 0, due: due, damping: damping,
            runningAverage: Scalar(configuration.runningAverage), frequencyShift: Scalar(damping.shift(maxAbsolute: 0)), t: step)
        guard var curvature = embedding else { preconditionFailure("an embedding table without its curvature") }
        embedding = nil
        defer { embedding = curvature }
        let outcome = try curvature.step(
            lookups: lookups, outputGradients: outputGradients, table: &table, update: &update,
            settings: configuration.sgd, request, operation)
        progress.commitSparseStep(outcome: outcome)
    }
}
