/// Settings of the K-FAC baseline, with the same meaning as NG+'s where they share a name.
public struct KFACConfiguration: Sendable, Equatable, Codable {
    /// The SGD step after preconditioning.
    public var sgd: SGDSettings
    /// λ by step; each factor is damped by `√λ·I` (the π-free Tikhonov split).
    public var damping: Schedule
    /// Factor inverses are refreshed every k steps.
    public var inverseInterval: Int
    /// Factor statistics every this many steps; nil: at refresh steps only, as NG+.
    public var statisticsInterval: Int?
    /// α of `F ← (1−α)·F + α·F_new` for both factors.
    public var runningAverage: Double
    /// The batch size workspaces are first made for.
    public var batchSize: Int
    /// Retries of a failed factorization with a larger shift, as `NGPlusConfiguration.maxRetries`.
    public var maxRetries: Int

    public init(
        sgd: SGDSettings = SGDSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4),
        damping: Schedule = 1e-3, inverseInterval: Int = 10, statisticsInterval: Int? = nil,
        runningAverage: Double = 1, batchSize: Int = 128, maxRetries: Int = 6
    ) {
        self.sgd = sgd
        self.damping = damping
        self.inverseInterval = inverseInterval
        self.statisticsInterval = statisticsInterval
        self.runningAverage = runningAverage
        self.batchSize = batchSize
        self.maxRetries = maxRetries
    }

    /// NG+'s validation of the shared settings.
    func validate(_ operation: NGError.Operation) throws(NGError) {
        try NGPlusConfiguration(
            sgd: sgd, damping: damping, inverseInterval: inverseInterval, statisticsInterval: statisticsInterval,
            runningAverage: runningAverage, batchSize: batchSize, maxRetries: maxRetries
        ).validate(operation)
    }
}

/// The K-FAC baseline on the same kernels as NG+: per dense or conv2d layer the Kronecker
/// factors of `KFACFactorBuilder`, damped Cholesky inverses refreshed every k steps, and the
/// direction `(G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹`, followed by the same SGD step as NG+. Matrix and
/// vector parameters, which have no factors, take the plain SGD step.
public struct KFACOptimizer<Scalar: BLASScalar>: LayerOptimizer, Sendable {
    public let configuration: KFACConfiguration
    var table = LayerTable<Layer>(stateKind: "KFACOptimizer")

    struct Layer: OptimizerLayer {
        let spec: LayerSpec
        var step = 0
        var observedStep = -1
        /// The factors of a dense or conv2d layer; nil for matrix and vector parameters, which
        /// take the plain SGD step.
        var curvature: KFACCurvature<Scalar>?
        /// The factors of an embedding table; nil for every other kind.
        var embedding: EmbeddingCurvature<Scalar>?
        var update: ParameterUpdate<MomentumSGD<Scalar>>
        /// Workspace: ∇W̃ of a fused step.
        var gradient: Matrix<Scalar>
        /// What the refreshes went through, rung by rung (telemetry, not saved).
        var health = RefreshHealth()
        /// The coming step's refresh, made ahead of it in a data-parallel run (not saved).
        var refreshAhead: RefreshAhead?
    }

    public init(configuration: KFACConfiguration = KFACConfiguration()) throws(NGError) {
        try configuration.validate(.kfacInit)
        self.configuration = configuration
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        try spec.validate(.kfacRegister)
        let shape = spec.parameterShape
        var curvature: KFACCurvature<Scalar>?
        var embedding: EmbeddingCurvature<Scalar>?
        switch spec {
        case .dense, .conv2d:
            curvature = try KFACCurvature(spec: spec, batch: configuration.batchSize, maxRetries: configuration.maxRetries)
        case let .embedding(vocabulary, width):
            embedding = try EmbeddingCurvature(
                vocabulary: vocabulary, width: width, blockSize: width, method: .explicitInverse, inputFactor: .rowFrequencies,
                runningAverage: configuration.runningAverage, maxRetries: configuration.maxRetries)
        case .matrix, .vector:
            break
        }
        return table.append(Layer(
            spec: spec, curvature: curvature, embedding: embedding, update: ParameterUpdate(spec: spec),
            // An embedding table's step forms no gradient: no table-sized workspace.
            gradient: spec.isEmbedding ? Matrix(rows: 0, columns: 0) : Matrix(rows: shape.rows, columns: shape.columns)))
    }

    /// What a layer's refreshes went through, rung by rung of the failure ladder.
    public func refreshHealth(of layer: LayerHandle) throws(OptimizerError) -> RefreshHealth {
        try table.layer(layer, .kfacRefreshHealth).health
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
        try table.skippedSteps(of: layer, .kfacSkippedSteps)
    }

    public func stateBytes() -> [UInt8] {
        table.stateBytes(configuration)
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        try table.restore(stateBytes: stateBytes, configuration)
    }
}

extension KFACConfiguration {
    /// Factor statistics every this many steps.
    var resolvedStatisticsInterval: Int { statisticsInterval ?? inverseInterval }
}

extension KFACOptimizer.Layer {
    /// An embedding table takes its statistics with its step, never from `observe`.
    func usesObservation(_ configuration: KFACConfiguration) -> Bool {
        !spec.isEmbedding && step % configuration.resolvedStatisticsInterval == 0
    }

    mutating func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ configuration: KFACConfiguration,
        _ operation: NGError.Operation
    ) throws(NGError) {
        try curvature?.accumulate(
            inputs: inputs, outputGradients: outputGradients, runningAverage: Scalar(configuration.runningAverage),
            operation)
        observedStep = step
    }

    /// One step from a validated gradient, all or nothing: the factor inverses staged when
    /// due, the direction `(G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹` from them (a plain copy for matrix
    /// and vector parameters), the SGD step staged and checked, then everything committed.
    mutating func step(
        gradient: Matrix<Scalar>, weight: inout Matrix<Scalar>, index: Int, _ configuration: KFACConfiguration,
        _ operation: NGError.Operation
    ) throws {
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        if curvature != nil {
            try requireStatistics(index: index, configuration, operation)
            let due = isRefreshStep(configuration)
            let ahead = due ? refreshAhead : nil
            slot = try ahead.stagedRefresh(
                of: &curvature!, due: due, damping: dampingRule(configuration), outcome: &outcome)
            curvature?.apply(gradient, into: &update.direction, slot: slot)
        } else {
            copy(gradient, into: &update.direction)
        }
        try update.stage(
            weight: weight, weightColumns: spec.weightColumns, settings: configuration.sgd, t: step, operation)
        if slot == .staged { curvature?.commitRefresh() }
        update.commit(weight: &weight)
        if let outcome { health.record(outcome) }
        refreshAhead = nil
        step += 1
    }

    func isRefreshStep(_ configuration: KFACConfiguration) -> Bool {
        step % configuration.inverseInterval == 0
    }

    func dampingRule(_ configuration: KFACConfiguration) -> DampingRule {
        .squareRoot(configuration.damping.value(at: step))
    }

    /// A statistics step needs its observation.
    func requireStatistics(
        index: Int, _ configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws(OptimizerError) {
        if usesObservation(configuration) && observedStep != step {
            throw .missingStatistics(operation: operation, layer: index, step: step)
        }
    }

    /// K-FAC preconditions on both sides, so it cannot fuse: ∇W̃ is formed first.
    mutating func fusedStep(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool, weight: inout Matrix<Scalar>,
        index: Int, _ configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws {
        DenseGradient.weightGradientUnchecked(
            inputs: inputs, outputGradients: outputGradients, bias: bias, into: &gradient)
        let formed = gradient
        try step(gradient: formed, weight: &weight, index: index, configuration, operation)
    }

    func encode(to writer: inout StateWriter) {
        writer.write(step)
        writer.write(observedStep)
        writer.write(curvature?.hasStatistics ?? false)
        update.rule.encode(to: &writer)
        curvature?.encode(to: &writer)
        embedding?.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        step = try reader.readStepCount()
        observedStep = try reader.readInt()
        guard observedStep >= -1, observedStep <= step else {
            throw reader.fail("an impossible observed step \(observedStep)")
        }
        let hasStatistics = try reader.readBool()
        try update.rule.restore(from: &reader)
        curvature?.hasStatistics = hasStatistics
        try curvature?.restore(from: &reader)
        try embedding?.restore(from: &reader)
    }
}
