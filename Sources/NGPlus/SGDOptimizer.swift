/// The SGD baseline (momentum, Nesterov, weight decay, clipping of `SGDSettings`), behind the
/// same protocol as NG+ so both run in the same training code. It is exactly NG+'s SGD part
/// with `F̂⁻¹ = I`.
public struct SGDOptimizer<Scalar: BLASScalar>: LayerOptimizer, Sendable {
    public let settings: SGDSettings
    var layers: [Layer] = []

    struct Layer: Sendable, SpecifiedLayer {
        let spec: LayerSpec
        var step = 0
        var momentum: MomentumBuffer<Scalar>
        var direction: Matrix<Scalar>
    }

    /// - Throws: `invalidArgument` for a setting out of range.
    public init(settings: SGDSettings = SGDSettings()) throws(NGError) {
        try settings.validate("SGDOptimizer.init")
        self.settings = settings
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        try spec.validate("SGDOptimizer.register")
        let shape = spec.parameterShape
        layers.append(Layer(
            spec: spec, momentum: MomentumBuffer(shape: shape), direction: Matrix(rows: shape.rows, columns: shape.columns)))
        return LayerHandle(index: layers.count - 1)
    }

    /// Validates the statistics and ignores them: SGD needs none.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func observe(
        _ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "SGDOptimizer.observe"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        try StepValidation.observation(layers[i].spec, inputs: inputs, outputGradients: outputGradients, operation)
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "SGDOptimizer.step"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        try StepValidation.weightAndGradient(layers[i].spec, weight: weight, gradient: gradient, operation)
        copy(gradient, into: &layers[i].direction)
        layers[i].finish(weight: &weight, settings)
    }

    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>,
        outputGradients: Matrix<Scalar>
    ) throws(NGError) {
        let operation = "SGDOptimizer.step"
        let i = try StepValidation.index(of: layer, count: layers.count, operation)
        let bias = try StepValidation.denseStep(
            layers[i].spec, weight: weight, inputs: inputs, outputGradients: outputGradients, operation)
        try DenseGradient.weightGradient(
            inputs: inputs, outputGradients: outputGradients, bias: bias, into: &layers[i].direction)
        layers[i].finish(weight: &weight, settings)
    }

    public func stateBytes() -> [UInt8] {
        sealLayers(layers, optimizer: "SGDOptimizer", scalar: "\(Scalar.self)") { layer, writer in
            writer.write(layer.step)
            layer.momentum.encode(to: &writer)
        }
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        var reader = try StateFile.open(
            stateBytes, optimizer: "SGDOptimizer", scalar: "\(Scalar.self)", operation: "SGDOptimizer.load")
        var restored = layers
        try restoreLayers(&restored, from: &reader) { layer, reader throws(NGError) in
            layer.step = try reader.readStepCount()
            try layer.momentum.restore(from: &reader)
        }
        layers = restored
    }
}

extension SGDOptimizer.Layer {
    mutating func finish(weight: inout Matrix<Scalar>, _ settings: SGDSettings) {
        momentum.step(direction: &direction, weight: &weight, weightColumns: spec.weightColumns, settings: settings, t: step)
        step += 1
    }
}

/// A layer record with the spec it was registered with.
protocol SpecifiedLayer {
    var spec: LayerSpec { get }
}

/// Restores every layer of `layers` from `reader` (count, then per layer its spec text and
/// `body`), checking the count, each spec and that nothing is left over.
func restoreLayers<Layer: SpecifiedLayer>(
    _ layers: inout [Layer], from reader: inout StateReader,
    _ body: (inout Layer, inout StateReader) throws(NGError) -> Void
) throws(NGError) {
    let count = try reader.readInt()
    guard count == layers.count else { throw reader.fail("\(count) layers saved, \(layers.count) registered") }
    for i in layers.indices {
        let saved = try reader.readString()
        let expected = specDescription(layers[i].spec)
        guard saved == expected else { throw reader.fail("a layer saved as \(saved) where \(expected) is registered") }
        try body(&layers[i], &reader)
    }
    guard reader.isAtEnd else { throw reader.fail("unexpected bytes after the last layer") }
}

extension StateReader {
    /// A step count: a non-negative integer.
    mutating func readStepCount() throws(NGError) -> Int {
        let step = try readInt()
        guard step >= 0 else { throw fail("a negative step count \(step)") }
        return step
    }
}
