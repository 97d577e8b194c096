/// An optimizer that steps every dense, convolution and matrix parameter along a direction its
/// `MatrixTransform` makes from the gradient (Muon, Shampoo), and every vector and embedding
/// table by Adam, behind the same `LayerOptimizer` protocol as the others, all or nothing.
/// Observations are validated and not used.
public struct TransformedOptimizer<Transform: MatrixTransform>: LayerOptimizer, Sendable {
    public typealias Scalar = Transform.Scalar
    /// The settings, fixed at creation.
    public let settings: Transform.Settings
    var table = LayerTable<Layer>(stateKind: Transform.stateKind)

    /// A matrix parameter's transform and the step along its direction.
    struct MatrixParameter: Sendable {
        var transform: Transform
        var update: ParameterUpdate<MomentumSGD<Scalar>>

        /// The step from the gradient in `update.direction`, all or nothing.
        mutating func step(
            weight: inout Matrix<Scalar>, weightColumns: Int, _ settings: Transform.Settings, t: Int,
            _ operation: NGError.Operation
        ) throws(NGError) {
            guard transform.stage(&update.direction, settings: settings, t: t) else {
                let index = update.direction.firstNonFiniteIndex() ?? 0
                throw .nonFinite(
                    operation: operation, argument: "update (finite inputs whose products overflow)",
                    row: index / weight.columns, column: index % weight.columns)
            }
            try update.stage(weight: weight, weightColumns: weightColumns, settings: settings.matrixStep, t: t, operation)
            transform.commitStaged()
            update.commit(weight: &weight)
        }
    }

    struct Layer: OptimizerLayer {
        let spec: LayerSpec
        var step = 0
        /// Dense, convolution and matrix parameters (nil for vectors and tables).
        var matrix: MatrixParameter?
        /// Vectors and embedding tables (nil for matrix parameters).
        var vector: ParameterUpdate<Adam<Scalar>>?

        init(spec: LayerSpec, settings: Transform.Settings) {
            self.spec = spec
            switch spec {
            case .dense, .conv2d, .matrix:
                matrix = MatrixParameter(
                    transform: Transform(shape: spec.parameterShape, settings: settings),
                    update: ParameterUpdate(spec: spec))
            case .vector, .embedding:
                vector = ParameterUpdate(spec: spec)
            }
        }

        func usesObservation(_ settings: Transform.Settings) -> Bool { false }

        func observe(
            inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ settings: Transform.Settings,
            _ operation: NGError.Operation
        ) {}

        mutating func step(
            gradient: Matrix<Scalar>, weight: inout Matrix<Scalar>, index: Int, _ settings: Transform.Settings,
            _ operation: NGError.Operation
        ) throws(NGError) {
            let (columns, t) = (spec.weightColumns, step)
            if matrix != nil {
                matrix?.update.load(gradient)
                try matrix?.step(weight: &weight, weightColumns: columns, settings, t: t, operation)
            } else {
                vector?.load(gradient)
                try vector?.stage(weight: weight, weightColumns: columns, settings: settings.vectorStep, t: t, operation)
                vector?.commit(weight: &weight)
            }
            step += 1
        }

        mutating func fusedStep(
            inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool, weight: inout Matrix<Scalar>,
            index: Int, _ settings: Transform.Settings, _ operation: NGError.Operation
        ) throws(NGError) {
            // Validation admits the fused form for dense layers only, which are matrix parameters.
            let (columns, t) = (spec.weightColumns, step)
            matrix?.update.loadWeightGradient(inputs: inputs, outputGradients: outputGradients, bias: bias)
            try matrix?.step(weight: &weight, weightColumns: columns, settings, t: t, operation)
            step += 1
        }

        /// Adam's lazy step of the looked-up rows, all or nothing.
        mutating func sparseStep(
            lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
            _ settings: Transform.Settings, _ operation: NGError.Operation
        ) throws(NGError) {
            let t = step
            vector?.gatherRows(lookups: lookups, outputGradients: outputGradients, into: .direction)
            defer { vector?.resetRows() }
            try vector?.requireFiniteRows(of: table, operation)
            try vector?.stageRows(weight: table, settings: settings.vectorStep, t: t, operation)
            vector?.commitRows(weight: &table)
            step += 1
        }

        func encode(to writer: inout StateWriter) {
            writer.write(step)
            if let matrix {
                matrix.transform.encode(to: &writer)
                matrix.update.rule.encode(to: &writer)
            }
            vector?.rule.encode(to: &writer)
        }

        mutating func restore(from reader: inout StateReader) throws(NGError) {
            step = try reader.readStepCount()
            if matrix != nil {
                try matrix?.transform.restore(from: &reader)
                try matrix?.update.rule.restore(from: &reader)
            }
            try vector?.rule.restore(from: &reader)
        }
    }

    /// - Throws: `invalidArgument` for a setting out of range.
    public init(settings: Transform.Settings) throws(NGError) {
        try settings.validate(NGError.Operation("\(Transform.stateKind).init"))
        self.settings = settings
    }

    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        try spec.validate(NGError.Operation("\(Transform.stateKind).register"))
        return table.append(Layer(spec: spec, settings: settings))
    }

    /// Shapes are checked; the values, which neither transform uses, are not scanned.
    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func observe(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws {
        try table.observe(layer, inputs: inputs, outputGradients: outputGradients, settings)
    }

    public func usesObservation(_ layer: LayerHandle) -> Bool {
        table.usesObservation(layer, settings)
    }

    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func step(_ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>) throws {
        try table.step(layer, weight: &weight, gradient: gradient, settings)
    }

    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>
    ) throws {
        try table.step(layer, weight: &weight, inputs: inputs, outputGradients: outputGradients, settings)
    }

    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func step(
        _ layer: LayerHandle, table: inout Matrix<Scalar>, lookups: [Int], outputGradients: Matrix<Scalar>
    ) throws {
        try self.table.step(layer, table: &table, lookups: lookups, outputGradients: outputGradients, settings)
    }

    public var nonFinitePolicy: NonFiniteStepPolicy {
        get { table.nonFinitePolicy }
        set { table.nonFinitePolicy = newValue }
    }

    public func skippedSteps(of layer: LayerHandle) throws(OptimizerError) -> Int {
        try table.skippedSteps(of: layer, NGError.Operation("\(Transform.stateKind).skippedSteps"))
    }

    public func stateBytes() -> [UInt8] {
        table.stateBytes(settings)
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        try table.restore(stateBytes: stateBytes, settings)
    }
}

/// Muon and Shampoo share nothing but their gradients in a data-parallel run: every process
/// makes the same direction from the same averaged gradient.
extension TransformedOptimizer: StatisticsSharing {
    public func sharedStatistics(of layer: LayerHandle) -> SharedStatistics { .none }

    public mutating func withSummedStatistics(
        of layer: LayerHandle, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void
    ) throws {
        try table.withSummedStatistics(layer, settings, body)
    }

    public mutating func withGatheredRows(
        of layer: LayerHandle, totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void
    ) throws {
        try table.withGatheredRows(layer, totalRows: totalRows, settings, body)
    }

    public func sharedRefresh(of layer: LayerHandle) -> SharedRefresh? { nil }

    public mutating func makeSharedRefresh(
        of layer: LayerHandle, values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>
    ) throws {
        try table.makeSharedRefresh(layer, values: values, figures: figures, settings)
    }

    public mutating func adoptSharedRefresh(
        of layer: LayerHandle, values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>
    ) throws {
        try table.adoptSharedRefresh(layer, values: values, figures: figures, settings)
    }
}
