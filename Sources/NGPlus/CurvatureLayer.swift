/// The record of one layer of a preconditioning optimizer (NG+, K-FAC): its curvature block
/// (`LayerCurvature`, chosen by `Settings.curvature(for:_:)`), the base rule's step after
/// preconditioning, and its schedule (`RefreshProgress`). One step algorithm for every block:
/// the statistics required, a refresh staged when due (or the one made ahead), the direction
/// applied, the base rule's step staged and checked; then everything committed together.
public struct CurvatureLayer<Scalar: BLASScalar, Settings: CurvatureSettings>: RefreshingRecord {
    public static var stateKind: String { Settings.stateKind }
    public static var oldestStateVersion: Int { Settings.oldestStateVersion }
    public let spec: LayerSpec
    /// The plan the block was made on; nil for K-FAC's factors and the identity.
    let plan: CurvaturePlan?
    /// The step of the layer's cycle at which it refreshes (staggered) or 0.
    let offset: Int
    var progress = RefreshProgress()
    var curvature: LayerCurvature<Scalar>
    /// The base rule's step after preconditioning, staged with the curvature's.
    var update: ParameterUpdate<PreconditionedStep<Scalar>>
    /// Workspace of `StepGraft.gradientNorm`: the gradient of a fused dense step formed; empty
    /// otherwise.
    var formedGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// The state of `StepGraft.adamNorm`; empty otherwise.
    var adamGraft = AdamGraft<Scalar>()
    /// The batch a dense or conv2d block is planned for (0 for the others).
    let plannedBatch: Int

    public var step: Int { progress.step }
    public var refreshHealth: RefreshHealth { progress.health }

    public static func validate(_ settings: Settings, _ operation: NGError.Operation) throws(NGError) {
        try settings.validate(operation)
    }

    public init(spec: LayerSpec, index: Int, settings: Settings, _ operation: NGError.Operation) throws(NGError) {
        let choice = try settings.curvature(for: spec, operation)
        curvature = try LayerCurvature(choice, spec: spec)
        plan = switch choice {
        case let .perSample(plan, _, _), let .matrixForm(plan, _, _, _, _), let .embedding(plan, _, _, _): plan
        case .identity, .kroneckerFactors: nil
        }
        plannedBatch = switch choice {
        case let .perSample(_, batch, _), let .kroneckerFactors(batch, _, _): batch
        case .identity, .matrixForm, .embedding: 0
        }
        self.spec = spec
        offset = settings.refreshOffset(ofLayer: index)
        update = ParameterUpdate(spec: spec)
        if case .adam = settings.baseRule {
            update.rule = PreconditionedStep(adamFor: spec.parameterShape, stagedRows: update.direction.rows)
        }
        switch (settings.graft, curvature.kind, spec) {
        case (.gradientNorm, .perSample, .dense), (.gradientNorm, .kronecker, .dense):
            formedGradient = Matrix(rows: update.direction.rows, columns: update.direction.columns)
        case (.adamNorm, _, _):
            // A table stages its looked-up rows, which `gatherRows` makes room for.
            adamGraft = AdamGraft(shape: spec.parameterShape, stagedRows: update.direction.rows)
        case (.none, _, _), (.gradientNorm, _, _):
            break
        }
    }

    /// The block's apply, statistics and refresh, amortized over their intervals.
    public func extraFlopsPerStep(_ settings: Settings) -> Double {
        let (k, s) = (settings.inverseInterval, settings.statisticsInterval(for: spec))
        let graft = graftFlopsPerStep(settings) + klClipFlopsPerStep(settings)
        if case let .kronecker(factors) = curvature {
            return factors.flopsPerStep(inverseInterval: Double(k), statisticsInterval: Double(s)) + graft
        }
        return (plan?.flopsPerStep(inverseInterval: k, statisticsInterval: s) ?? 0) + graft
    }

    func isRefreshStep(_ settings: Settings) -> Bool {
        step == 0 || step % settings.inverseInterval == offset
    }

    func isStatisticsStep(_ settings: Settings) -> Bool {
        let interval = settings.statisticsInterval(for: spec)
        return step == 0 || step % interval == offset % interval
    }

    /// Only a block built from observations takes them; an embedding table takes its
    /// statistics with its step.
    public func usesObservation(_ settings: Settings) -> Bool {
        switch curvature.kind {
        case .perSample, .kronecker: isStatisticsStep(settings)
        case .matrix, .embedding, .identity: false
        }
    }

    /// Accumulates the statistics of a statistics step, all or nothing.
    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ settings: Settings, _ operation: NGError.Operation
    ) throws(NGError) {
        let runningAverage = Scalar(settings.runningAverage)
        switch curvature.kind {
        case .perSample:
            try curvature.withPerSample(&update.direction) { (block, _) throws(NGError) in
                try block.accumulate(inputs: inputs, outputGradients: outputGradients, runningAverage: runningAverage, operation)
            }
        case .kronecker:
            try curvature.withKronecker(&update.direction) { (block, _) throws(NGError) in
                try block.accumulate(inputs: inputs, outputGradients: outputGradients, runningAverage: runningAverage, operation)
            }
        case .matrix, .embedding, .identity:
            break
        }
        progress.observed()
    }

    public func sampleGradientFlopsPerStep(_ settings: Settings) -> Double {
        guard case .perSample = curvature.kind else { return 0 }
        return CurvaturePlan.sampleGradientFlops(spec, batch: plannedBatch) / Double(settings.statisticsInterval(for: spec))
    }

    /// A per-sample GFIM of a conv2d layer on a statistics step takes the per-sample gradients
    /// its backward pass formed; K-FAC's factors need the inputs and output gradients.
    public func takesSampleGradients(_ settings: Settings) -> Bool {
        guard case .conv2d = spec, case .perSample = curvature.kind else { return false }
        return isStatisticsStep(settings)
    }

    /// Accumulates a statistics step's per-sample gradients (`takesSampleGradients`), all or
    /// nothing.
    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func observe(
        sampleGradients: Matrix<Scalar>, _ settings: Settings, _ operation: NGError.Operation
    ) throws(NGError) {
        let runningAverage = Scalar(settings.runningAverage)
        try curvature.withPerSample(&update.direction) { (block, _) throws(NGError) in
            try block.accumulate(.sampleGradients(sampleGradients), runningAverage: runningAverage, operation)
        }
        progress.observed()
    }

    /// The curvature staged (a refresh when due; the matrix form's momentum and statistics),
    /// the direction computed with the staged or current inverse, then the base rule's step
    /// staged and checked.
    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, refresh: RefreshAhead?, index: Int,
        _ settings: Settings, _ operation: NGError.Operation
    ) throws {
        let due = isRefreshStep(settings)
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        let damping = settings.dampingRule(for: spec, step: step)
        // The cases bind nothing: a bound payload would be a second reference to the block
        // while it changes in place (a copy of its buffers).
        switch curvature.kind {
        case .identity, .embedding:
            // Validation keeps embedding tables to their sparse step.
            update.load(gradient)
        case .perSample:
            try progress.requireStatistics(statisticsStep: isStatisticsStep(settings), index: index, operation)
            slot = try curvature.withPerSample(&update.direction) { (block, direction) throws(NGError) in
                try block.precondition(gradient, refresh: refresh, due: due, damping: damping, outcome: &outcome, into: &direction)
            }
        case .kronecker:
            try progress.requireStatistics(statisticsStep: isStatisticsStep(settings), index: index, operation)
            slot = try curvature.withKronecker(&update.direction) { (block, direction) throws(NGError) in
                try block.precondition(gradient, refresh: refresh, due: due, damping: damping, outcome: &outcome, into: &direction)
            }
        case .matrix:
            guard case let .matrix(gradient) = gradient else { preconditionFailure("a fused step of a matrix parameter") }
            // On the Adam base, Adam's moments and weight decay take the place of the form's own.
            let sgd: SGDSettings? = if case let .momentumSGD(sgd) = settings.baseRule { sgd } else { nil }
            let (firstStep, statisticsStep) = (step == 0, isStatisticsStep(settings))
            slot = try curvature.withMatrix(&update.direction) { (block, direction) throws(NGError) in
                try block.stageMomentum(
                    weight: weight, gradient: gradient, momentum: Scalar(sgd?.momentum ?? 0),
                    weightDecay: sgd?.weightDecayMode == .l2 ? Scalar(sgd?.weightDecay ?? 0) : 0,
                    firstStep: firstStep, statisticsStep: statisticsStep, operation)
                let slot = try block.stageRefresh(due: due, damping: damping, outcome: &outcome)
                block.applyToStagedMomentum(into: &direction, slot: slot)
                return slot
            }
        }
        guard graftDirection(gradient, settings.graft) else { throw adamGraft.overflow(operation) }
        clipDirection(gradient, settings)
        try update.stage(
            weight: weight, weightColumns: spec.weightColumns, settings: baseSettings(settings), t: step, operation)
        progress.staged(slot, outcome)
    }

    /// The base rule's settings. The matrix form took momentum and L2 decay before
    /// preconditioning: its update is lr·F̂⁻¹·M.
    func baseSettings(_ settings: Settings) -> PreconditionedStepSettings {
        guard case .matrix = curvature, case var .momentumSGD(sgd) = settings.baseRule else { return settings.baseRule }
        sgd.momentum = 0
        sgd.nesterov = false
        if sgd.weightDecayMode == .l2 { sgd.weightDecay = 0 }
        return .momentumSGD(sgd)
    }

    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func commit(weight: inout Matrix<Scalar>) {
        let refreshing = progress.commitStep()
        var nothing: Void = ()
        switch curvature.kind {
        case .perSample:
            if refreshing { curvature.withPerSample(&nothing) { block, _ in block.commitRefresh() } }
        case .kronecker:
            if refreshing { curvature.withKronecker(&nothing) { block, _ in block.commitRefresh() } }
        case .matrix:
            curvature.withMatrix(&nothing) { block, _ in
                block.commitMomentum()
                if refreshing { block.commitRefresh() }
            }
        case .identity, .embedding:
            break
        }
        adamGraft.commitStaged()
        update.commit(weight: &weight)
    }

    public func encode(to writer: inout StateWriter) {
        progress.encode(to: &writer)
        update.rule.encode(to: &writer)
        curvature.encode(to: &writer)
        adamGraft.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        try progress.restore(from: &reader)
        try update.rule.restore(from: &reader)
        try curvature.restore(from: &reader)
        try adamGraft.restore(from: &reader)
    }
}

/// Copies a matrix's values into another of the same shape without allocating.
func copy<Scalar: BLASScalar>(_ source: Matrix<Scalar>, into target: inout Matrix<Scalar>) {
    source.withView { s in target.withMutableView { t in t.update(from: s) } }
}
