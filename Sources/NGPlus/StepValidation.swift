/// The argument checks every optimizer makes before it changes anything.
enum StepValidation {
    /// The index of `layer`, or `unknownLayer`.
    static func index(of layer: LayerHandle, count: Int, _ operation: NGError.Operation) throws(OptimizerError) -> Int {
        guard layer.index >= 0, layer.index < count else {
            throw .unknownLayer(operation: operation, layer: layer.index)
        }
        return layer.index
    }

    /// `matrix` (the weight W̃ or the gradient G̃, named `argument`) has the layer's parameter
    /// shape.
    static func parameterShape<Scalar: BLASScalar>(
        _ spec: LayerSpec, _ matrix: Matrix<Scalar>, _ argument: String, _ operation: NGError.Operation
    ) throws(NGError) {
        try matrix.requireShape(spec.parameterShape, operation, argument)
    }

    /// `matrix` (named `argument`) is finite: `nonFinite` naming its first value that is not.
    /// A step scans its weight and gradient only when it failed (`LayerTable.refusedStep`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func parameterValues<Scalar: BLASScalar>(
        _ matrix: Matrix<Scalar>, _ argument: String, _ operation: NGError.Operation
    ) throws(NGError) {
        try matrix.requireFinite(operation, argument)
    }

    /// A dense layer's bias flag, or `invalidArgument` for any other kind.
    static func denseLayer(_ spec: LayerSpec, _ operation: NGError.Operation) throws(NGError) -> Bool {
        guard case let .dense(_, _, bias) = spec else {
            throw .invalidArgument(
                operation: operation, argument: "layer",
                reason: "takes inputs and output gradients only for dense layers; pass the gradient instead")
        }
        return bias
    }

    /// A dense layer's inputs (B × n) and output gradients (B × m) have the layer's shapes.
    /// Their values are scanned only when the step fails (`denseValues`).
    static func denseShapes<Scalar: BLASScalar>(
        _ spec: LayerSpec, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ operation: NGError.Operation
    ) throws(NGError) {
        guard case let .dense(outputs, inputsCount, _) = spec else { return }
        try inputs.requireNonEmpty(operation, "inputs")
        try inputs.requireShape(Shape(inputs.rows, inputsCount), operation, "inputs")
        try outputGradients.requireShape(Shape(inputs.rows, outputs), operation, "outputGradients")
    }

    /// A dense layer's inputs and output gradients are finite: `nonFinite` naming the first
    /// value that is not.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func denseValues<Scalar: BLASScalar>(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ operation: NGError.Operation
    ) throws(NGError) {
        try inputs.requireFinite(operation, "inputs")
        try outputGradients.requireFinite(operation, "outputGradients")
    }

    /// Inputs and output gradients fit a dense or conv2d layer, and are finite when `finite`
    /// (an observation that will not be used need not be scanned).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func observation<Scalar: BLASScalar>(
        _ spec: LayerSpec, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ operation: NGError.Operation,
        finite: Bool = true
    ) throws(NGError) {
        let (inputLength, outputLength): (Int, Int)
        switch spec {
        case let .dense(outputs, inputs, _): (inputLength, outputLength) = (inputs, outputs)
        case let .conv2d(geometry, outChannels, _):
            (inputLength, outputLength) = (geometry.inputLength, outChannels * geometry.positions)
        case .matrix, .vector, .embedding:
            throw .invalidArgument(
                operation: operation, argument: "layer", reason: "has no per-sample statistics: observe is for dense and conv2d layers")
        }
        try inputs.requireNonEmpty(operation, "inputs")
        try inputs.requireShape(Shape(inputs.rows, inputLength), operation, "inputs")
        try outputGradients.requireShape(Shape(inputs.rows, outputLength), operation, "outputGradients")
        guard finite else { return }
        try inputs.requireFinite(operation, "inputs")
        try outputGradients.requireFinite(operation, "outputGradients")
    }

    /// A conv2d layer's per-sample gradients: (K + 1) × (B·c_out) for a batch of at least one,
    /// finite.
    static func sampleGradients<Scalar: BLASScalar>(
        _ spec: LayerSpec, _ g: Matrix<Scalar>, _ operation: NGError.Operation
    ) throws(NGError) {
        guard case let .conv2d(geometry, outChannels, _) = spec else {
            throw .invalidArgument(
                operation: operation, argument: "layer", reason: "per-sample gradients are a conv2d layer's statistics")
        }
        try Conv2dGFIMBuilder.validate(sampleGradients: g, geometry: geometry, outChannels: outChannels, operation)
    }

    /// An embedding table steps from its lookups, never from a whole-table gradient.
    static func requireNotEmbedding(_ spec: LayerSpec, _ operation: NGError.Operation) throws(NGError) {
        try operation.require(
            !spec.isEmbedding, "layer",
            "is an embedding table: step it from its lookups, step(_:table:lookups:outputGradients:)")
    }

    /// An embedding table, its lookups (each a row of the table) and their output gradients'
    /// shape (lookups × width). Their values, and the table's looked-up rows, are the record's
    /// to check where it reads them (`ParameterUpdate.requireFiniteRows`; a first-order step
    /// folds both into its stage's check, `FirstOrderParameter.sparseStep`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func embeddingStep<Scalar: BLASScalar>(
        _ spec: LayerSpec, table: Matrix<Scalar>, lookups: [Int], outputGradients: Matrix<Scalar>,
        _ operation: NGError.Operation
    ) throws(NGError) {
        guard case let .embedding(vocabulary, width) = spec else {
            throw .invalidArgument(
                operation: operation, argument: "layer", reason: "takes lookups only as an embedding table")
        }
        try table.requireShape(spec.parameterShape, operation, "table")
        try operation.require(!lookups.isEmpty, "lookups", "is empty")
        for r in 0..<lookups.count where lookups[r] < 0 || lookups[r] >= vocabulary {
            throw .invalidArgument(
                operation: operation, argument: "lookups",
                reason: "lookup \(r) reads row \(lookups[r]), outside the table's \(vocabulary) rows")
        }
        try outputGradients.requireShape(Shape(lookups.count, width), operation, "outputGradients")
    }
}
