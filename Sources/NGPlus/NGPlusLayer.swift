/// NG+'s record of one layer: its curvature by kind (`LayerCurvature`), the base rule's step
/// after preconditioning, and its schedule (`RefreshProgress`).
public struct NGPlusLayer<Scalar: BLASScalar>: RefreshingRecord {
    public static var stateKind: String { "NGPlusOptimizer" }
    public let spec: LayerSpec
    let plan: CurvaturePlan?
    /// The step of the layer's cycle at which it refreshes (staggered) or 0.
    let offset: Int
    var progress = RefreshProgress()
    var curvature: LayerCurvature<Scalar>
    /// The base rule's step after preconditioning, staged with the curvature's.
    var update: ParameterUpdate<PreconditionedStep<Scalar>>

    public var step: Int { progress.step }
    public var refreshHealth: RefreshHealth { progress.health }

    public static func validate(_ settings: NGPlusConfiguration, _ operation: NGError.Operation) throws(NGError) {
        try settings.validate(operation)
    }

    public init(
        spec: LayerSpec, index: Int, settings configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws(NGError) {
        let statistics = configuration.statisticsInterval(for: spec)
        var request = PlanRequest(
            side: configuration.side, method: configuration.method, blockSize: configuration.blockSize,
            batch: configuration.batchSize, inverseInterval: configuration.inverseInterval,
            statisticsInterval: statistics,
            woodburyAllowed: configuration.runningAverage == 1 && statistics == configuration.inverseInterval,
            fused: configuration.fusedApply)
        switch spec {
        case .dense, .conv2d:
            let chosen = try request.plan(for: spec, operation: operation)
            curvature = .perSample(try PerSampleCurvature(
                spec: spec, plan: chosen, batch: configuration.batchSize, maxRetries: configuration.maxRetries))
            plan = chosen
        case .matrix:
            request.woodburyAllowed = false
            let chosen = try request.plan(for: spec, operation: operation)
            curvature = .matrix(try MatrixCurvature(
                shape: spec.parameterShape, plan: chosen, epsilon: configuration.matrixEpsilon,
                start: configuration.matrixMomentumStart, maxRetries: configuration.maxRetries))
            plan = chosen
        case let .embedding(vocabulary, width):
            request.woodburyAllowed = false
            let chosen = try request.plan(for: spec, operation: operation)
            curvature = .embedding(try EmbeddingCurvature(
                vocabulary: vocabulary, width: width, blockSize: chosen.blockSize,
                method: chosen.method == .choleskySolve ? .choleskySolve : .explicitInverse, inputFactor: .identity,
                runningAverage: configuration.runningAverage, maxRetries: configuration.maxRetries))
            plan = chosen
        case .vector:
            curvature = .none
            plan = nil
        }
        self.spec = spec
        offset = configuration.staggered ? index % configuration.inverseInterval : 0
        update = ParameterUpdate(spec: spec)
        if configuration.adam != nil {
            update.rule = PreconditionedStep(adamFor: spec.parameterShape, stagedRows: update.direction.rows)
        }
    }

    /// The plan's apply, statistics and refresh (`CurvaturePlan.flopsPerStep`); none for a
    /// vector.
    public func extraFlopsPerStep(_ configuration: NGPlusConfiguration) -> Double {
        plan?.flopsPerStep(
            inverseInterval: configuration.inverseInterval, statisticsInterval: configuration.statisticsInterval(for: spec)) ?? 0
    }

    func isRefreshStep(_ configuration: NGPlusConfiguration) -> Bool {
        step == 0 || step % configuration.inverseInterval == offset
    }

    /// An embedding table takes its statistics with its step, never from `observe`.
    public func usesObservation(_ configuration: NGPlusConfiguration) -> Bool {
        !spec.isEmbedding && isStatisticsStep(configuration)
    }

    func isStatisticsStep(_ configuration: NGPlusConfiguration) -> Bool {
        let interval = configuration.statisticsInterval(for: spec)
        return step == 0 || step % interval == offset % interval
    }

    /// Accumulates the statistics of a statistics step, all or nothing.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ configuration: NGPlusConfiguration,
        _ operation: NGError.Operation
    ) throws(NGError) {
        let runningAverage = Scalar(configuration.runningAverage)
        try curvature.withPerSample(&update.direction) { (curvature, _) throws(NGError) in
            try curvature.accumulate(
                inputs: inputs, outputGradients: outputGradients, runningAverage: runningAverage, operation)
        }
        progress.observed()
    }

    /// The curvature staged (a refresh when due; the matrix form's momentum and statistics),
    /// the direction computed with the staged or current inverse, then the base rule's step
    /// staged and checked.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, refresh: RefreshAhead?, index: Int,
        _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws {
        let due = isRefreshStep(configuration)
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        let damping = configuration.dampingRule(for: spec, step: step)
        // On the spec, not the curvature: a switch on the curvature would hold a second
        // reference to it while it changes in place (a copy of its buffers).
        switch spec {
        case .vector, .embedding:
            // Validation keeps embedding tables to their sparse step.
            update.load(gradient)
        case .matrix:
            guard case let .matrix(gradient) = gradient else { preconditionFailure("a fused step of a matrix parameter") }
            // On the Adam base, Adam's moments and weight decay take the place of the form's own.
            let sgd = configuration.sgd
            let own = configuration.adam == nil
            let (firstStep, statisticsStep) = (step == 0, isStatisticsStep(configuration))
            try curvature.withMatrix(&update.direction) { (curvature, direction) throws(NGError) in
                try curvature.stageMomentum(
                    weight: weight, gradient: gradient, momentum: own ? Scalar(sgd.momentum) : 0,
                    weightDecay: own && sgd.weightDecayMode == .l2 ? Scalar(sgd.weightDecay) : 0,
                    beta: Scalar(configuration.matrixBeta), firstStep: firstStep, statisticsStep: statisticsStep,
                    operation)
                slot = try curvature.stageRefresh(due: due, damping: damping, outcome: &outcome)
                curvature.applyToStagedMomentum(into: &direction, slot: slot)
            }
        case .dense, .conv2d:
            try progress.requireStatistics(statisticsStep: isStatisticsStep(configuration), index: index, operation)
            try curvature.withPerSample(&update.direction) { (curvature, direction) throws(NGError) in
                slot = try refresh.stagedRefresh(of: &curvature, due: due, damping: damping, outcome: &outcome)
                switch gradient {
                case let .matrix(gradient):
                    curvature.apply(gradient, into: &direction, slot: slot)
                case let .dense(inputs, outputGradients, bias):
                    curvature.applyFused(
                        inputs: inputs, outputGradients: outputGradients, bias: bias, into: &direction, slot: slot)
                }
            }
        }
        try update.stage(
            weight: weight, weightColumns: spec.weightColumns, settings: baseSettings(configuration), t: step,
            operation)
        progress.staged(slot, outcome)
    }

    /// The base rule's settings. The matrix form took momentum and L2 decay before
    /// preconditioning: its update is lr·F̂⁻¹·M.
    func baseSettings(_ configuration: NGPlusConfiguration) -> PreconditionedStepSettings {
        var settings = configuration.sgd
        if case .matrix = spec {
            settings.momentum = 0
            settings.nesterov = false
            if settings.weightDecayMode == .l2 { settings.weightDecay = 0 }
        }
        return PreconditionedStepSettings(sgd: settings, adam: configuration.adam)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func commit(weight: inout Matrix<Scalar>) {
        let refreshing = progress.commitStep()
        switch curvature {
        case .perSample:
            if refreshing { curvature.withPerSample(&update.direction) { curvature, _ in curvature.commitRefresh() } }
        case .matrix:
            curvature.withMatrix(&update.direction) { curvature, _ in
                curvature.commitMomentum()
                if refreshing { curvature.commitRefresh() }
            }
        case .none, .embedding, .moving:
            break
        }
        update.commit(weight: &weight)
    }

    public func encode(to writer: inout StateWriter) {
        progress.encode(to: &writer)
        update.rule.encode(to: &writer)
        curvature.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        try progress.restore(from: &reader)
        try update.rule.restore(from: &reader)
        try curvature.restore(from: &reader)
    }
}

extension NGPlusConfiguration {
    /// Statistics every this many steps of a layer of kind `spec`.
    func statisticsInterval(for spec: LayerSpec) -> Int {
        if let statisticsInterval { return statisticsInterval }
        if case .matrix = spec { return 1 }
        return inverseInterval
    }

    /// λ_t in the layer kind's damping form.
    func dampingRule(for spec: LayerSpec, step: Int) -> DampingRule {
        let form = dampingForm ?? {
            if case .matrix = spec { return .clampedSquareRoot }
            return .squareRoot
        }()
        return form.rule(damping.value(at: step))
    }
}

/// Copies a matrix's values into another of the same shape without allocating.
func copy<Scalar: BLASScalar>(_ source: Matrix<Scalar>, into target: inout Matrix<Scalar>) {
    source.withView { s in target.withMutableView { t in t.update(from: s) } }
}
