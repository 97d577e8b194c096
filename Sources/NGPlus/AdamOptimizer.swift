import Foundation

/// Settings of the Adam baseline (Kingma & Ba), as PyTorch's Adam and AdamW compute it.
public struct AdamSettings: Sendable, Equatable, Codable {
    public var learningRate: Schedule
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Weight decay on weight columns: `l2` adds it to the gradient (Adam), `decoupled`
    /// shrinks the weights directly (AdamW).
    public var weightDecay: Double
    public var weightDecayMode: WeightDecayMode
    /// When set, an update whose Frobenius norm exceeds this is scaled down to it.
    public var maxUpdateNorm: Double?

    public init(
        learningRate: Schedule = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0, weightDecayMode: WeightDecayMode = .l2, maxUpdateNorm: Double? = nil
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.weightDecayMode = weightDecayMode
        self.maxUpdateNorm = maxUpdateNorm
    }

    func validate(_ operation: String) throws(NGError) {
        try learningRate.validate(operation, "learningRate")
        func require(_ ok: Bool, _ argument: String, _ value: Double) throws(NGError) {
            if !ok { throw .invalidArgument(operation: operation, argument: argument, reason: "is out of range: \(value)") }
        }
        try require(beta1 >= 0 && beta1 < 1, "beta1", beta1)
        try require(beta2 >= 0 && beta2 < 1, "beta2", beta2)
        try require(epsilon > 0 && epsilon.isFinite, "epsilon", epsilon)
        try require(weightDecay >= 0 && weightDecay.isFinite, "weightDecay", weightDecay)
        if let maxUpdateNorm { try require(maxUpdateNorm > 0 && maxUpdateNorm.isFinite, "maxUpdateNorm", maxUpdateNorm) }
    }
}

/// The Adam / AdamW baseline, behind the same protocol as NG+.
public struct AdamOptimizer<Scalar: BLASScalar>: LayerOptimizer, Sendable {
    public let settings: AdamSettings
    var layers: [Layer] = []

    struct Layer: Sendable, SpecifiedLayer {
        let spec: LayerSpec
        var step = 0
        var firstMoment: Matrix<Scalar>
        var secondMoment: Matrix<Scalar>
        /// Workspace: the gradient (fused step), then the update.
        var update: Matrix<Scalar>
    }

    public init(settings: AdamSettings = AdamSettings()) throws(NGError) {
        try settings.validate("AdamOptimizer.init")
        self.settings = settings
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        try spec.validate("AdamOptimizer.register")
        let shape = spec.parameterShape
        let zero = Matrix<Scalar>(rows: shape.rows, columns: shape.columns)
        layers.append(Layer(spec: spec, firstMoment: zero, secondMoment: zero, update: zero))
        return LayerHandle(index: layers.count - 1)
    }

    /// Validates the statistics and ignores them: Adam needs none.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func observe(
        _ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "AdamOptimizer.observe"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        try StepValidation.observation(layers[i].spec, inputs: inputs, outputGradients: outputGradients, operation)
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "AdamOptimizer.step"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        try StepValidation.weightAndGradient(layers[i].spec, weight: weight, gradient: gradient, operation)
        copy(gradient, into: &layers[i].update)
        layers[i].finish(weight: &weight, settings)
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>,
        outputGradients: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "AdamOptimizer.step"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        let bias = try StepValidation.denseStep(
            layers[i].spec, weight: weight, inputs: inputs, outputGradients: outputGradients, operation)
        try DenseGradient.weightGradient(inputs: inputs, outputGradients: outputGradients, bias: bias, into: &layers[i].update)
        layers[i].finish(weight: &weight, settings)
    }

    public func stateBytes() -> [UInt8] {
        sealLayers(layers, optimizer: "AdamOptimizer", scalar: "\(Scalar.self)") { layer, writer in
            writer.write(layer.step)
            writer.write(layer.firstMoment)
            writer.write(layer.secondMoment)
        }
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        var reader = try StateFile.open(
            stateBytes, optimizer: "AdamOptimizer", scalar: "\(Scalar.self)", operation: "AdamOptimizer.load")
        var restored = layers
        try restoreLayers(&restored, from: &reader) { layer, reader throws(NGError) in
            layer.step = try reader.readStepCount()
            try reader.read(into: &layer.firstMoment, what: "first moment")
            try reader.read(into: &layer.secondMoment, what: "second moment")
        }
        layers = restored
    }
}

extension AdamOptimizer.Layer {
    /// One Adam step from the gradient held in `update`.
    mutating func finish(weight: inout Matrix<Scalar>, _ settings: AdamSettings) {
        step += 1
        let lr = Scalar(settings.learningRate.value(at: step - 1))
        let (b1, b2, eps) = (Scalar(settings.beta1), Scalar(settings.beta2), Scalar(settings.epsilon))
        let correction1 = 1 - Scalar(pow(settings.beta1, Double(step)))
        let correction2 = 1 - Scalar(pow(settings.beta2, Double(step)))
        let decay = Scalar(settings.weightDecay)
        if decay != 0, settings.weightDecayMode == .l2 {
            addToWeightColumns(decay, of: weight, into: &update, weightColumns: spec.weightColumns)
        }
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                update.withUnsafeMutableBufferPointer { u in
                    for e in 0..<u.count {
                        let g = u[e]
                        m[e] = b1 * m[e] + (1 - b1) * g
                        v[e] = b2 * v[e] + (1 - b2) * g * g
                        u[e] = (m[e] / correction1) / ((v[e] / correction2).squareRoot() + eps)
                    }
                }
            }
        }
        var scale = lr
        if let maxNorm = settings.maxUpdateNorm {
            let norm = Double(lr) * Double(BLAS.nrm2(update))
            if norm > maxNorm { scale = Scalar(Double(lr) * maxNorm / norm) }
        }
        if decay != 0, settings.weightDecayMode == .decoupled {
            scaleWeightColumns(1 - lr * decay, of: &weight, weightColumns: spec.weightColumns)
        }
        update.withUnsafeBufferPointer { u in
            weight.withUnsafeMutableBufferPointer { w in
                Scalar.axpy(n: u.count, alpha: -scale, x: u.baseAddress!, incx: 1, y: w.baseAddress!, incy: 1)
            }
        }
    }
}

/// The sealed state of `layers`: count, then per layer its spec text and `body`.
func sealLayers<Layer: SpecifiedLayer>(
    _ layers: [Layer], optimizer: String, scalar: String, _ body: (Layer, inout StateWriter) -> Void
) -> [UInt8] {
    var writer = StateWriter()
    writer.write(layers.count)
    for layer in layers {
        writer.write(specDescription(layer.spec))
        body(layer, &writer)
    }
    return StateFile.seal(payload: writer.bytes, optimizer: optimizer, scalar: scalar)
}
