/// What NG+ keeps for a layer's curvature, by the layer's kind: per-sample statistics (dense,
/// conv2d), the mini-batch GFIM (matrix), the right-side GFIM of an embedding table, or nothing
/// (vectors take plain momentum SGD).
enum LayerCurvature<Scalar: BLASScalar>: Sendable {
    case perSample(PerSampleCurvature<Scalar>)
    case matrix(MatrixCurvature<Scalar>)
    case embedding(EmbeddingCurvature<Scalar>)
    case none
    /// Only while a payload is taken out to be changed in place.
    case moving

    /// Runs `body` on the per-sample curvature in place (the payload taken out, so never
    /// copied, and put back on a throw too), with the caller's `direction` buffer.
    /// - Precondition: the layer has per-sample statistics.
    mutating func withPerSample<Result, Failure: Error>(
        _ direction: inout Matrix<Scalar>,
        _ body: (inout PerSampleCurvature<Scalar>, inout Matrix<Scalar>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard case .perSample(var curvature) = consume self else { preconditionFailure("not a dense or conv2d layer") }
        self = .moving
        defer { self = .perSample(curvature) }
        return try body(&curvature, &direction)
    }

    /// Runs `body` on the matrix-form curvature in place, with the caller's `direction`.
    /// - Precondition: the layer is a matrix parameter.
    mutating func withMatrix<Result, Failure: Error>(
        _ direction: inout Matrix<Scalar>,
        _ body: (inout MatrixCurvature<Scalar>, inout Matrix<Scalar>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard case .matrix(var curvature) = consume self else { preconditionFailure("not a matrix parameter") }
        self = .moving
        defer { self = .matrix(curvature) }
        return try body(&curvature, &direction)
    }

    /// Runs `body` on an embedding table's curvature in place, with the caller's update.
    /// - Precondition: the layer is an embedding table.
    mutating func withEmbedding<Rule: FirstOrderRule, Result, Failure: Error>(
        _ update: inout ParameterUpdate<Rule>,
        _ body: (inout EmbeddingCurvature<Scalar>, inout ParameterUpdate<Rule>) throws(Failure) -> Result
    ) throws(Failure) -> Result where Rule.Scalar == Scalar {
        guard case .embedding(var curvature) = consume self else { preconditionFailure("not an embedding table") }
        self = .moving
        defer { self = .embedding(curvature) }
        return try body(&curvature, &update)
    }
}

extension LayerCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        switch self {
        case let .perSample(curvature): curvature.encode(to: &writer)
        case let .matrix(curvature): curvature.encode(to: &writer)
        case let .embedding(curvature): curvature.encode(to: &writer)
        case .none: break
        case .moving: preconditionFailure("a curvature saved while it is being changed")
        }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        switch self {
        case .perSample(var curvature):
            self = .moving
            defer { self = .perSample(curvature) }
            try curvature.restore(from: &reader)
        case .matrix(var curvature):
            self = .moving
            defer { self = .matrix(curvature) }
            try curvature.restore(from: &reader)
        case .embedding(var curvature):
            self = .moving
            defer { self = .embedding(curvature) }
            try curvature.restore(from: &reader)
        case .none: break
        case .moving: preconditionFailure("a curvature restored while it is being changed")
        }
    }
}
