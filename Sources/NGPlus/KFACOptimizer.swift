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
        var builder: KFACFactorBuilder<Scalar>?
        var inputFactor: BlockDiagonalMatrix<Scalar>?
        var outputFactor: BlockDiagonalMatrix<Scalar>?
        var inputInverse: DampedInverse<Scalar>?
        var outputInverse: DampedInverse<Scalar>?
        var hasStatistics = false
        var momentum: MomentumSGD<Scalar>
        /// Workspace: G⁻¹·∇W̃, then the direction (or the gradient of a fused step).
        var half: Matrix<Scalar>
        var direction: Matrix<Scalar>
    }

    public init(configuration: KFACConfiguration = KFACConfiguration()) throws(NGError) {
        try configuration.validate("KFACOptimizer.init")
        self.configuration = configuration
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        let operation = "KFACOptimizer.register"
        try spec.validate(operation)
        let shape = spec.parameterShape
        var layer = Layer(
            spec: spec, momentum: MomentumSGD(shape: shape),
            half: Matrix(rows: shape.rows, columns: shape.columns), direction: Matrix(rows: shape.rows, columns: shape.columns))
        switch spec {
        case let .dense(outputs, inputs, bias):
            layer.builder = try KFACFactorBuilder(outputs: outputs, inputs: inputs, bias: bias, batchCapacity: configuration.batchSize)
        case let .conv2d(geometry, outChannels, bias):
            layer.builder = try KFACFactorBuilder(geometry: geometry, outChannels: outChannels, bias: bias)
        case .matrix, .vector:
            break
        }
        if let builder = layer.builder {
            let (inputOrder, outputOrder) = (builder.inputOrder, builder.outputs)
            layer.inputFactor = try BlockDiagonalMatrix(dimension: inputOrder, blockSize: inputOrder)
            layer.outputFactor = try BlockDiagonalMatrix(dimension: outputOrder, blockSize: outputOrder)
            layer.inputInverse = try DampedInverse(dimension: inputOrder, blockSize: inputOrder, maxRetries: configuration.maxRetries)
            layer.outputInverse = try DampedInverse(dimension: outputOrder, blockSize: outputOrder, maxRetries: configuration.maxRetries)
        }
        layers.append(layer)
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
        try layers[i].accumulate(inputs: inputs, outputGradients: outputGradients, runningAverage: Scalar(configuration.runningAverage))
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
        try layers[i].preconditionGradient(gradient, index: i, configuration, statisticsInterval: statisticsInterval, operation)
        layers[i].finish(weight: &weight, configuration.sgd)
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
        // K-FAC preconditions on both sides, so it cannot fuse: form ∇W̃ in the direction buffer.
        try DenseGradient.weightGradient(inputs: inputs, outputGradients: outputGradients, bias: bias, into: &layers[i].direction)
        try layers[i].preconditionDirection(index: i, configuration, statisticsInterval: statisticsInterval, operation)
        layers[i].finish(weight: &weight, configuration.sgd)
    }

    public func stateBytes() -> [UInt8] {
        sealLayers(layers, optimizer: "KFACOptimizer", scalar: "\(Scalar.self)") { layer, writer in
            writer.write(layer.step)
            writer.write(layer.observedStep)
            writer.write(layer.hasStatistics)
            layer.momentum.encode(to: &writer)
            layer.inputFactor?.encode(to: &writer)
            layer.outputFactor?.encode(to: &writer)
            layer.inputInverse?.encode(to: &writer)
            layer.outputInverse?.encode(to: &writer)
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
            layer.hasStatistics = try reader.readBool()
            try layer.momentum.restore(from: &reader)
            if layer.builder != nil {
                try layer.inputFactor!.restore(from: &reader)
                try layer.outputFactor!.restore(from: &reader)
                try layer.inputInverse!.restore(from: &reader)
                try layer.outputInverse!.restore(from: &reader)
            }
        }
        layers = restored
    }
}

extension KFACOptimizer.Layer {
    mutating func accumulate(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, runningAverage: Scalar
    ) throws(NGError) {
        try builder!.accumulate(
            inputs: inputs, outputGradients: outputGradients, newWeight: hasStatistics ? runningAverage : 1,
            inputFactor: &inputFactor!, outputFactor: &outputFactor!)
        hasStatistics = true
        observedStep = step
    }

    /// `direction ← (G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹` for a validated gradient (plain copy for
    /// matrix and vector parameters).
    mutating func preconditionGradient(
        _ gradient: Matrix<Scalar>, index: Int, _ configuration: KFACConfiguration, statisticsInterval: Int,
        _ operation: String
    ) throws(NGError) {
        guard builder != nil else {
            copy(gradient, into: &direction)
            return
        }
        try refreshIfDue(index: index, configuration, statisticsInterval: statisticsInterval, operation)
        try outputInverse!.apply(gradient, side: .left, into: &half)
        try inputInverse!.apply(half, side: .right, into: &direction)
    }

    /// The same, for a gradient already in `direction`.
    mutating func preconditionDirection(
        index: Int, _ configuration: KFACConfiguration, statisticsInterval: Int, _ operation: String
    ) throws(NGError) {
        try refreshIfDue(index: index, configuration, statisticsInterval: statisticsInterval, operation)
        try outputInverse!.apply(direction, side: .left, into: &half)
        try inputInverse!.apply(half, side: .right, into: &direction)
    }

    /// Refreshes both factor inverses when due, all or nothing: both are staged, then both
    /// committed, so a throwing step changes nothing.
    mutating func refreshIfDue(
        index: Int, _ configuration: KFACConfiguration, statisticsInterval: Int, _ operation: String
    ) throws(NGError) {
        if step % statisticsInterval == 0 && observedStep != step {
            throw .missingStatistics(operation: operation, layer: index, step: step)
        }
        guard step % configuration.inverseInterval == 0 else { return }
        let rule = DampingRule.squareRoot(configuration.damping.value(at: step))
        try inputInverse!.stageRefresh(from: inputFactor!, damping: rule)
        try outputInverse!.stageRefresh(from: outputFactor!, damping: rule)
        inputInverse!.commitStagedRefresh()
        outputInverse!.commitStagedRefresh()
    }

    mutating func finish(weight: inout Matrix<Scalar>, _ settings: SGDSettings) {
        momentum.step(direction: &direction, weight: &weight, weightColumns: spec.weightColumns, settings: settings, t: step)
        step += 1
    }
}
