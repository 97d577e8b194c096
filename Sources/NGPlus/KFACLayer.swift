/// K-FAC's record of one layer: the two Kronecker factors of a dense or conv2d layer
/// (`KFACCurvature`), or an embedding table's (`EmbeddingCurvature` with row frequencies), the
/// SGD step after preconditioning, and its schedule (`RefreshProgress`).
public struct KFACLayer<Scalar: BLASScalar>: RefreshingRecord {
    public static var stateKind: String { "KFACOptimizer" }
    public let spec: LayerSpec
    var progress = RefreshProgress()
    /// The factors of a dense or conv2d layer; nil for matrix and vector parameters, which
    /// take the plain SGD step.
    var curvature: KFACCurvature<Scalar>?
    /// The factors of an embedding table; nil for every other kind.
    var embedding: EmbeddingCurvature<Scalar>?
    var update: ParameterUpdate<MomentumSGD<Scalar>>
    /// Workspace: ∇W̃ of a fused step (K-FAC preconditions on both sides, so it cannot fuse).
    var formedGradient: Matrix<Scalar>

    public var step: Int { progress.step }
    public var refreshHealth: RefreshHealth { progress.health }

    public static func validate(_ settings: KFACConfiguration, _ operation: NGError.Operation) throws(NGError) {
        try settings.validate(operation)
    }

    public init(
        spec: LayerSpec, index: Int, settings configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws(NGError) {
        let shape = spec.parameterShape
        switch spec {
        case .dense, .conv2d:
            curvature = try KFACCurvature(spec: spec, batch: configuration.batchSize, maxRetries: configuration.maxRetries)
        case let .embedding(vocabulary, width):
            embedding = try EmbeddingCurvature(
                vocabulary: vocabulary, width: width, blockSize: width, method: .explicitInverse,
                inputFactor: .rowFrequencies, runningAverage: configuration.runningAverage,
                maxRetries: configuration.maxRetries)
        case .matrix, .vector:
            break
        }
        self.spec = spec
        update = ParameterUpdate(spec: spec)
        // Only a dense layer forms ∇W̃: no workspace for the rest, no table-sized one for a table.
        formedGradient = if case .dense = spec { Matrix(rows: shape.rows, columns: shape.columns) } else {
            Matrix(rows: 0, columns: 0)
        }
    }

    /// A dense or conv2d layer's factors (`KFACCurvature.flopsPerStep`); an embedding table's
    /// output factor `GᵀG` over its lookups (2·d²·B) every statistics step, its inverse (d³) every k
    /// steps and `D = G_rows·F⁻¹` (2·d²·B); none for matrix and vector parameters.
    public func extraFlopsPerStep(_ configuration: KFACConfiguration) -> Double {
        let (k, s) = (Double(configuration.inverseInterval), Double(configuration.resolvedStatisticsInterval))
        if let curvature {
            return curvature.flopsPerStep(batch: configuration.batchSize, inverseInterval: k, statisticsInterval: s)
        }
        guard case let .embedding(_, width) = spec else { return 0 }
        let (d, b) = (Double(width), Double(configuration.batchSize))
        return 2 * d * d * b / s + d * d * d / k + 2 * d * d * b
    }

    func isStatisticsStep(_ configuration: KFACConfiguration) -> Bool {
        step % configuration.resolvedStatisticsInterval == 0
    }

    func isRefreshStep(_ configuration: KFACConfiguration) -> Bool {
        step % configuration.inverseInterval == 0
    }

    func dampingRule(_ configuration: KFACConfiguration) -> DampingRule {
        .squareRoot(configuration.damping.value(at: step))
    }

    /// An embedding table takes its statistics with its step, never from `observe`.
    public func usesObservation(_ configuration: KFACConfiguration) -> Bool {
        !spec.isEmbedding && isStatisticsStep(configuration)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ configuration: KFACConfiguration,
        _ operation: NGError.Operation
    ) throws(NGError) {
        try curvature?.accumulate(
            inputs: inputs, outputGradients: outputGradients, runningAverage: Scalar(configuration.runningAverage),
            operation)
        progress.observed()
    }

    /// The factor inverses staged when due, the direction `(G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹` from
    /// them (the gradient itself for matrix and vector parameters), then the SGD step staged
    /// and checked.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func stage(
        _ gradient: LayerGradient<Scalar>, weight: Matrix<Scalar>, refresh: RefreshAhead?, index: Int,
        _ configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws {
        var slot = InverseSlot.current
        var outcome: RefreshOutcome?
        if var factors = curvature {
            try progress.requireStatistics(statisticsStep: isStatisticsStep(configuration), index: index, operation)
            let due = isRefreshStep(configuration)
            // Taken out so that it is changed in place, and put back on a throw too.
            curvature = nil
            defer { curvature = factors }
            slot = try refresh.stagedRefresh(
                of: &factors, due: due, damping: dampingRule(configuration), outcome: &outcome)
            switch gradient {
            case let .matrix(gradient):
                factors.apply(gradient, into: &update.direction, slot: slot)
            case .dense:
                gradient.write(into: &formedGradient)
                factors.apply(formedGradient, into: &update.direction, slot: slot)
            }
        } else {
            update.load(gradient)
        }
        try update.stage(
            weight: weight, weightColumns: spec.weightColumns, settings: configuration.sgd, t: step, operation)
        progress.staged(slot, outcome)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func commit(weight: inout Matrix<Scalar>) {
        if progress.commitStep() { curvature?.commitRefresh() }
        update.commit(weight: &weight)
    }

    public func encode(to writer: inout StateWriter) {
        progress.encode(to: &writer)
        writer.write(curvature?.hasStatistics ?? false)
        update.rule.encode(to: &writer)
        curvature?.encode(to: &writer)
        embedding?.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        try progress.restore(from: &reader)
        let hasStatistics = try reader.readBool()
        try update.rule.restore(from: &reader)
        curvature?.hasStatistics = hasStatistics
        try curvature?.restore(from: &reader)
        try embedding?.restore(from: &reader)
    }
}
