/// An embedding table's step: the right-side GFIM of the lookups' output gradients (with
/// K-FAC's row frequencies when the block has them) applied to the looked-up rows
/// (`EmbeddingCurvature`), grafted on Adam's step of those rows for `StepGraft.adamNorm`, then
/// the lazy step of those rows on the base rule.
extension CurvatureLayer {
    /// One sparse step from validated lookups and output gradients of their shape, all or
    /// nothing (`EmbeddingCurvature.step`).
    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
        _ settings: Settings, _ operation: NGError.Operation
    ) throws {
        let request = EmbeddingStepRequest(
            statisticsStep: isStatisticsStep(settings), due: isRefreshStep(settings),
            damping: settings.dampingRule(for: spec, step: step), runningAverage: Scalar(settings.runningAverage),
            t: step)
        let base = settings.baseRule
        let outcome = try curvature.withEmbedding(&update, &adamGraft) { (block, update, graft) throws in
            try block.step(
                lookups: lookups, outputGradients: outputGradients, table: &table, update: &update, graft: &graft,
                settings: base, request, operation)
        }
        progress.commitSparseStep(outcome: outcome)
    }
}
