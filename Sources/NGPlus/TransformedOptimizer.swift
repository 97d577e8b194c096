/// An optimizer that steps every dense, convolution and matrix parameter along the direction its
/// `MatrixTransform` makes from the gradient (Muon, Shampoo; the gradient itself for SGD and
/// Adam), and every vector and embedding table by the transform's vector rule, behind the same
/// `LayerOptimizer` protocol as the others, all or nothing. Observations are validated and not
/// used.
public typealias TransformedOptimizer<Transform: MatrixTransform> = LayerwiseOptimizer<TransformedLayer<Transform>>

/// A transformed optimizer's record of one layer: a matrix parameter's transform and step, or
/// a vector's or table's step (exactly one of the two).
public struct TransformedLayer<Transform: MatrixTransform>: StatisticsFreeRecord {
    public typealias Scalar = Transform.Scalar
    public static var stateKind: String { Transform.stateKind }
    public let spec: LayerSpec
    /// Dense, convolution and matrix parameters (nil for vectors and tables).
    var matrix: TransformedMatrix<Transform>?
    /// Vectors and embedding tables (nil for matrix parameters).
    var vector: FirstOrderParameter<Transform.VectorRule>?

    public var step: Int { matrix?.parameter.step ?? vector?.step ?? 0 }

    public static func validate(_ settings: Transform.Settings, _ operation: NGError.Operation) throws(NGError) {
        try Transform.validate(settings, operation)
    }

    public init(spec: LayerSpec, index: Int, settings: Transform.Settings, _ operation: NGError.Operation) {
        self.spec = spec
        switch spec {
        case .dense, .conv2d, .matrix:
            matrix = TransformedMatrix(
                transform: Transform(shape: spec.parameterShape, settings: settings),
                parameter: FirstOrderParameter(spec: spec))
        case .vector, .embedding:
            vector = FirstOrderParameter(spec: spec)
        }
    }

    /// The transform's on a matrix parameter; none on a vector or table (an elementwise step).
    public func extraFlopsPerStep(_ settings: Transform.Settings) -> Double {
        matrix == nil ? 0 : Transform.extraFlopsPerStep(shape: spec.parameterShape, settings: settings)
    }

    @_specialize(where Transform == FirstOrderTransform<MomentumSGD<Float>>)
    @_specialize(where Transform == FirstOrderTransform<MomentumSGD<Double>>)
    @_specialize(where Transform == FirstOrderTransform<Adam<Float>>)
    @_specialize(where Transform == FirstOrderTransform<Adam<Double>>)
    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, refresh: RefreshAhead?, index: Int,
        _ settings: Transform.Settings, _ operation: NGError.Operation
    ) throws(NGError) {
        let columns = spec.weightColumns
        if matrix != nil {
            try matrix?.stage(gradient, weight: weight, weightColumns: columns, settings, operation)
        } else {
            try vector?.stage(gradient, weight: weight, weightColumns: columns, Transform.vectorStep(settings), operation)
        }
    }

    @_specialize(where Transform == FirstOrderTransform<MomentumSGD<Float>>)
    @_specialize(where Transform == FirstOrderTransform<MomentumSGD<Double>>)
    @_specialize(where Transform == FirstOrderTransform<Adam<Float>>)
    @_specialize(where Transform == FirstOrderTransform<Adam<Double>>)
    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func commit(weight: inout Matrix<Scalar>) {
        matrix?.commit(weight: &weight)
        vector?.commit(weight: &weight)
    }

    /// The vector rule's lazy step of the looked-up rows (validation admits tables only), all
    /// or nothing.
    @_specialize(where Transform == FirstOrderTransform<MomentumSGD<Float>>)
    @_specialize(where Transform == FirstOrderTransform<MomentumSGD<Double>>)
    @_specialize(where Transform == FirstOrderTransform<Adam<Float>>)
    @_specialize(where Transform == FirstOrderTransform<Adam<Double>>)
    @_specialize(where Transform == Muon<Float>)
    @_specialize(where Transform == Muon<Double>)
    @_specialize(where Transform == Shampoo<Float>)
    @_specialize(where Transform == Shampoo<Double>)
    public mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int,
        _ settings: Transform.Settings, _ operation: NGError.Operation
    ) throws {
        try vector?.sparseStep(
            lookups: lookups, outputGradients: outputGradients, table: &table, Transform.vectorStep(settings), operation)
    }

    public func encode(to writer: inout StateWriter) {
        matrix?.encode(to: &writer)
        vector?.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        try matrix?.restore(from: &reader)
        try vector?.restore(from: &reader)
    }
}

/// A matrix parameter's transform and the matrix rule's step along its direction.
struct TransformedMatrix<Transform: MatrixTransform>: Sendable {
    typealias Scalar = Transform.Scalar
    var transform: Transform
    var parameter: FirstOrderParameter<Transform.MatrixRule>

    /// The transform's direction from the gradient and the step along it, staged and checked.
    mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, weightColumns: Int, _ settings: Transform.Settings,
        _ operation: NGError.Operation
    ) throws(NGError) {
        parameter.update.load(gradient)
        guard transform.stage(&parameter.update.direction, settings: settings, t: parameter.step) else {
            let index = parameter.update.direction.firstNonFiniteIndex() ?? 0
            throw .nonFinite(
                operation: operation, argument: "update (finite inputs whose products overflow)",
                row: index / weight.columns, column: index % weight.columns)
        }
        try parameter.stageDirection(
            weight: weight, weightColumns: weightColumns, Transform.matrixStep(settings), operation)
    }

    mutating func commit(weight: inout Matrix<Scalar>) {
        transform.commitStaged()
        parameter.commit(weight: &weight)
    }

    /// The step count, the transform's state, the rule's state (a first-order optimizer's
    /// layer: the step count and the rule's state, as its vectors').
    func encode(to writer: inout StateWriter) {
        writer.write(parameter.step)
        transform.encode(to: &writer)
        parameter.update.rule.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        parameter.step = try reader.readStepCount()
        try transform.restore(from: &reader)
        try parameter.update.rule.restore(from: &reader)
    }
}
