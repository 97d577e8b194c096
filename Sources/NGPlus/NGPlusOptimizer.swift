/// NG+ (docs/ALGORITHM.md): per-layer generalized natural gradient preconditioning, refreshed every
/// k steps, followed by SGD with momentum.
///
/// Per layer and step t (each layer counts its own steps):
/// - dense and conv2d: `observe` the layer's inputs and output gradients at statistics steps
///   (by default the refresh steps only, as the reference does); `step` refreshes the damped
///   inverse at refresh steps (with `λ_t` from the damping schedule) and moves W̃ along
///   `D = F̂⁻¹·G̃` (or `G̃·F̂⁻¹`) with `SGDSettings`' momentum and weight decay;
/// - matrix parameters: the mini-batch GFIM form (see `MatrixCurvature`);
/// - vectors: plain momentum SGD.
///
/// Every public entry point validates everything first: a call that throws has changed
/// nothing, byte for byte (`stateBytes()` shows it). Steady-state steps allocate nothing on
/// the Swift side.
public struct NGPlusOptimizer<Scalar: BLASScalar>: LayerOptimizer, Sendable {
    /// The settings, fixed at creation.
    public let configuration: NGPlusConfiguration
    var table = LayerTable<Layer>(stateKind: "NGPlusOptimizer")

    struct Layer: OptimizerLayer {
        let spec: LayerSpec
        let plan: CurvaturePlan?
        /// The step of the layer's cycle at which it refreshes (staggered) or 0.
        let offset: Int
        var step = 0
        /// The step for which statistics were last observed, or -1.
        var observedStep = -1
        var curvature: LayerCurvature<Scalar>
        /// The SGD step after preconditioning, staged with the curvature's.
        var update: ParameterUpdate<PreconditionedStep<Scalar>>
        /// What the refreshes went through, rung by rung (telemetry, not saved).
        var health = RefreshHealth()
        /// The coming step's refresh, made ahead of it in a data-parallel run (not saved).
        var refreshAhead: RefreshAhead?
    }

    /// - Throws: `invalidArgument` or `nonPositiveDamping` for a setting out of range.
    public init(configuration: NGPlusConfiguration = NGPlusConfiguration()) throws(NGError) {
        try configuration.validate(.ngPlusInit)
        self.configuration = configuration
    }

    /// The plan (side, method, flops) chosen for a layer; nil for vectors.
    public func plan(for layer: LayerHandle) throws(OptimizerError) -> CurvaturePlan? {
        try table.layer(layer, .ngPlusPlan).plan
    }

    /// What a layer's refreshes went through, rung by rung of the failure ladder.
    public func refreshHealth(of layer: LayerHandle) throws(OptimizerError) -> RefreshHealth {
        try table.layer(layer, .ngPlusRefreshHealth).health
    }

    /// The steps a layer has taken.
    public func stepCount(of layer: LayerHandle) throws(OptimizerError) -> Int {
        try table.layer(layer, .ngPlusStepCount).step
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        let operation = NGError.Operation.ngPlusRegister
        try spec.validate(operation)
        let shape = spec.parameterShape
        let statistics = configuration.statisticsInterval(for: spec)
        var request = PlanRequest(
            side: configuration.side, method: configuration.method, blockSize: configuration.blockSize,
            batch: configuration.batchSize, inverseInterval: configuration.inverseInterval,
            statisticsInterval: statistics,
            woodburyAllowed: configuration.runningAverage == 1 && statistics == configuration.inverseInterval,
            fused: configuration.fusedApply)
        var plan: CurvaturePlan?
        let curvature: LayerCurvature<Scalar>
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
                shape: shape, plan: chosen, epsilon: configuration.matrixEpsilon,
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
        }
        let index = table.layers.count
        var update = ParameterUpdate<PreconditionedStep<Scalar>>(spec: spec)
        if configuration.adam != nil { update.rule = PreconditionedStep(adamFor: shape, stagedRows: update.direction.rows) }
        return table.append(Layer(
            spec: spec, plan: plan, offset: configuration.staggered ? index % configuration.inverseInterval : 0,
            curvature: curvature, update: update))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func observe(
        _ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>
    ) throws {
        try table.observe(layer, inputs: inputs, outputGradients: outputGradients, configuration)
    }

    public func usesObservation(_ layer: LayerHandle) -> Bool {
        table.usesObservation(layer, configuration)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>
    ) throws {
        try table.step(layer, weight: &weight, gradient: gradient, configuration)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>,
        outputGradients: Matrix<Scalar>
    ) throws {
        try table.step(layer, weight: &weight, inputs: inputs, outputGradients: outputGradients, configuration)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, table: inout Matrix<Scalar>, lookups: [Int], outputGradients: Matrix<Scalar>
    ) throws {
        try self.table.step(layer, table: &table, lookups: lookups, outputGradients: outputGradients, configuration)
    }

    public var nonFinitePolicy: NonFiniteStepPolicy {
        get { table.nonFinitePolicy }
        set { table.nonFinitePolicy = newValue }
    }

    public func skippedSteps(of layer: LayerHandle) throws(OptimizerError) -> Int {
        try table.skippedSteps(of: layer, .ngPlusSkippedSteps)
    }

    /// The complete state: per layer its spec, step counts, momentum, statistics and inverse;
    /// workspaces are not saved (every step overwrites them before reading).
    public func stateBytes() -> [UInt8] {
        table.stateBytes(configuration)
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        try table.restore(stateBytes: stateBytes, configuration)
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

extension NGPlusOptimizer.Layer {
    func isRefreshStep(_ configuration: NGPlusConfiguration) -> Bool {
        step == 0 || step % configuration.inverseInterval == offset
    }

    /// An embedding table takes its statistics with its step, never from `observe`.
    func usesObservation(_ configuration: NGPlusConfiguration) -> Bool {
        !spec.isEmbedding && isStatisticsStep(configuration)
    }

    func isStatisticsStep(_ configuration: NGPlusConfiguration) -> Bool {
        let interval = configuration.statisticsInterval(for: spec)
        return step == 0 || step % interval == offset % interval
    }

    /// Accumulates the statistics when this step is a statistics step (validated inputs),
    /// all or nothing.
    mutating func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ configuration: NGPlusConfiguration,
        _ operation: NGError.Operation
    ) throws(NGError) {
        let runningAverage = Scalar(configuration.runningAverage)
        try curvature.withPerSample(&update.direction) { (curvature, _) throws(NGError) in
            try curvature.accumulate(
                inputs: inputs, outputGradients: outputGradients, runningAverage: runningAverage, operation)
        }
        observedStep = step
    }

    /// One step from a validated gradient, all or nothing: the curvature staged (a refresh
    /// when due; the matrix form's momentum and statistics), the direction computed with the
    /// staged or current inverse, the SGD step staged and checked, then all committed.
    mutating func step(
        gradient: Matrix<Scalar>, weight: inout Matrix<Scalar>, index: Int,
        _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws {
        let due = isRefreshStep(configuration)
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        let damping = configuration.dampingRule(for: spec, step: step)
        switch spec {
        case .embedding:
            preconditionFailure("an embedding table's dense step passed validation")
        case .vector:
            copy(gradient, into: &update.direction)
        case .matrix:
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
            try requireStatistics(index: index, configuration, operation)
            let ahead = due ? refreshAhead : nil
            try curvature.withPerSample(&update.direction) { (curvature, direction) throws(NGError) in
                slot = try ahead.stagedRefresh(of: &curvature, due: due, damping: damping, outcome: &outcome)
                curvature.apply(gradient, into: &direction, slot: slot)
            }
        }
        try finish(weight: &weight, refreshing: slot == .staged, outcome: outcome, configuration, operation)
    }

    /// One fused step of a dense layer from validated inputs and output gradients, all or
    /// nothing.
    mutating func fusedStep(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool, weight: inout Matrix<Scalar>,
        index: Int, _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws {
        try requireStatistics(index: index, configuration, operation)
        let due = isRefreshStep(configuration)
        let damping = configuration.dampingRule(for: spec, step: step)
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        let ahead = due ? refreshAhead : nil
        try curvature.withPerSample(&update.direction) { (curvature, direction) throws(NGError) in
            slot = try ahead.stagedRefresh(of: &curvature, due: due, damping: damping, outcome: &outcome)
            curvature.applyFused(inputs: inputs, outputGradients: outputGradients, bias: bias, into: &direction, slot: slot)
        }
        try finish(weight: &weight, refreshing: slot == .staged, outcome: outcome, configuration, operation)
    }

    /// A statistics step needs its observation.
    func requireStatistics(
        index: Int, _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws(OptimizerError) {
        if isStatisticsStep(configuration) && observedStep != step {
            throw .missingStatistics(operation: operation, layer: index, step: step)
        }
    }

    /// The SGD part, staged and checked, then every staged part committed, the refresh's
    /// outcome counted, and the step counted.
    mutating func finish(
        weight: inout Matrix<Scalar>, refreshing: Bool, outcome: RefreshOutcome?, _ configuration: NGPlusConfiguration,
        _ operation: NGError.Operation
    ) throws(NGError) {
        var settings = configuration.sgd
        if case .matrix = spec {
            // Momentum and L2 decay were taken before preconditioning: the update is lr·F̂⁻¹·M.
            settings.momentum = 0
            settings.nesterov = false
            if settings.weightDecayMode == .l2 { settings.weightDecay = 0 }
        }
        try update.stage(
            weight: weight, weightColumns: spec.weightColumns,
            settings: PreconditionedStepSettings(sgd: settings, adam: configuration.adam), t: step, operation)
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
        if let outcome { health.record(outcome) }
        refreshAhead = nil
        step += 1
    }
}

/// Copies a matrix's values into another of the same shape without allocating.
func copy<Scalar: BLASScalar>(_ source: Matrix<Scalar>, into target: inout Matrix<Scalar>) {
    source.withView { s in target.withMutableView { t in t.update(from: s) } }
}
