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
    /// Retries of a failed factorization, each with the shift ×10.
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
    func validate(_ operation: String) throws(NGError) {
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
    var layers: [Layer] = []

    struct Layer: Sendable, SpecifiedLayer {
        let spec: LayerSpec
        var step = 0
        var observedStep = -1
        /// The factors of a dense or conv2d layer; nil for matrix and vector parameters, which
        /// take the plain SGD step.
        var curvature: KFACCurvature<Scalar>?
        var update: ParameterUpdate<MomentumSGD<Scalar>>
        /// Workspace: ∇W̃ of a fused step.
        var gradient: Matrix<Scalar>
    }

    public init(configuration: KFACConfiguration = KFACConfiguration()) throws(NGError) {
        try configuration.validate("KFACOptimizer.init")
        self.configuration = configuration
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        try spec.validate("KFACOptimizer.register")
        let shape = spec.parameterShape
        var curvature: KFACCurvature<Scalar>?
        if case .dense = spec {
            curvature = try KFACCurvature(spec: spec, batch: configuration.batchSize, maxRetries: configuration.maxRetries)
        } else if case .conv2d = spec {
            curvature = try KFACCurvature(spec: spec, batch: configuration.batchSize, maxRetries: configuration.maxRetries)
        }
        layers.append(Layer(
            spec: spec, curvature: curvature, update: ParameterUpdate(shape: shape),
            gradient: Matrix(rows: shape.rows, columns: shape.columns)))
        return LayerHandle(index: layers.count - 1)
    }

    var statisticsInterval: Int { configuration.statisticsInterval ?? configuration.inverseInterval }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func observe(
        _ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "KFACOptimizer.observe"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        let used = layers[i].step % statisticsInterval == 0
        try StepValidation.observation(
            layers[i].spec, inputs: inputs, outputGradients: outputGradients, operation, finite: used)
        guard used else { return }
        try layers[i].curvature?.accumulate(
            inputs: inputs, outputGradients: outputGradients, runningAverage: Scalar(configuration.runningAverage),
            operation)
        layers[i].observedStep = layers[i].step
    }

    public func usesObservation(_ layer: LayerHandle) -> Bool {
        guard layers.indices.contains(layer.index) else { return true }
        return layers[layer.index].step % statisticsInterval == 0
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "KFACOptimizer.step"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        try StepValidation.weightAndGradient(layers[i].spec, weight: weight, gradient: gradient, operation)
        try layers[i].step(gradient: gradient, weight: &weight, index: i, configuration, statisticsInterval, operation)
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>,
        outputGradients: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "KFACOptimizer.step"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        let bias = try StepValidation.denseStep(
            layers[i].spec, weight: weight, inputs: inputs, outputGradients: outputGradients, operation)
        // K-FAC preconditions on both sides, so it cannot fuse: form ∇W̃ first.
        DenseGradient.weightGradientUnchecked(
            inputs: inputs, outputGradients: outputGradients, bias: bias, into: &layers[i].gradient)
        try layers[i].stepFromGradientWorkspace(weight: &weight, index: i, configuration, statisticsInterval, operation)
    }

    public func stateBytes() -> [UInt8] {
        sealLayers(layers, optimizer: "KFACOptimizer", scalar: "\(Scalar.self)") { layer, writer in
            writer.write(layer.step)
            writer.write(layer.observedStep)
            writer.write(layer.curvature?.hasStatistics ?? false)
            layer.update.rule.encode(to: &writer)
            layer.curvature?.encode(to: &writer)
        }
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        var reader = try StateFile.open(
            stateBytes, optimizer: "KFACOptimizer", scalar: "\(Scalar.self)", operation: "KFACOptimizer.load")
        var restored = layers
        try restoreLayers(&restored, from: &reader) { layer, reader throws(NGError) in
            layer.step = try reader.readStepCount()
            layer.observedStep = try reader.readInt()
            guard layer.observedStep >= -1, layer.observedStep <= layer.step else {
                throw reader.fail("an impossible observed step \(layer.observedStep)")
            }
            let hasStatistics = try reader.readBool()
            try layer.update.rule.restore(from: &reader)
            layer.curvature?.hasStatistics = hasStatistics
            try layer.curvature?.restore(from: &reader)
        }
        layers = restored
    }
}

extension KFACOptimizer.Layer {
    /// One step from a validated gradient, all or nothing: the factor inverses staged when
    /// due, the direction `(G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹` from them (a plain copy for matrix
    /// and vector parameters), the SGD step staged and checked, then everything committed.
    mutating func step(
        gradient: Matrix<Scalar>, weight: inout Matrix<Scalar>, index: Int, _ configuration: KFACConfiguration,
        _ statisticsInterval: Int, _ operation: String
    ) throws(NGError) {
        var refreshing = false
        if curvature != nil {
            if step % statisticsInterval == 0 && observedStep != step {
                throw .missingStatistics(operation: operation, layer: index, step: step)
            }
            refreshing = step % configuration.inverseInterval == 0
            if refreshing {
                try curvature?.stageRefresh(damping: .squareRoot(configuration.damping.value(at: step)))
            }
            curvature?.apply(gradient, into: &update.direction, slot: refreshing ? .staged : .current)
        } else {
            copy(gradient, into: &update.direction)
        }
        try update.stage(
            weight: weight, weightColumns: spec.weightColumns, settings: configuration.sgd, t: step, operation)
        if refreshing { curvature?.commitRefresh() }
        update.commit(weight: &weight)
        step += 1
    }

    /// `step` from the gradient formed in the `gradient` workspace.
    mutating func stepFromGradientWorkspace(
        weight: inout Matrix<Scalar>, index: Int, _ configuration: KFACConfiguration, _ statisticsInterval: Int,
        _ operation: String
    ) throws(NGError) {
        let formed = gradient
        try step(gradient: formed, weight: &weight, index: index, configuration, statisticsInterval, operation)
    }
}
