/// A layer's curvature block, by the kind `CurvatureChoice` chose: per-sample statistics (NG+'s
/// dense and conv2d layers), the mini-batch GFIM (NG+'s matrix form), an embedding table's
/// right-side GFIM, K-FAC's Kronecker factors, or none (the identity: the base rule alone).
enum LayerCurvature<Scalar: BLASScalar>: Sendable, InPlacePayload {
    case perSample(PerSampleCurvature<Scalar>)
    case matrix(MatrixCurvature<Scalar>)
    case embedding(EmbeddingCurvature<Scalar>)
    case kronecker(KFACCurvature<Scalar>)
    case identity
    /// Only while a payload is out (`InPlacePayload`).
    case moving

    /// The block `choice` names for a layer of kind `spec`.
    init(_ choice: CurvatureChoice, spec: LayerSpec) throws(NGError) {
        switch choice {
        case .identity:
            self = .identity
        case let .perSample(plan, batch, maxRetries):
            self = .perSample(try PerSampleCurvature(spec: spec, plan: plan, batch: batch, maxRetries: maxRetries))
        case let .matrixForm(plan, beta, epsilon, start, maxRetries):
            self = .matrix(try MatrixCurvature(
                shape: spec.parameterShape, plan: plan, beta: beta, epsilon: epsilon, start: start,
                maxRetries: maxRetries))
        case let .embedding(plan, inputFactor, runningAverage, maxRetries):
            guard case let .embedding(vocabulary, width) = spec else { preconditionFailure("a table's block for \(spec)") }
            self = .embedding(try EmbeddingCurvature(
                vocabulary: vocabulary, width: width, blockSize: plan.blockSize,
                method: plan.method == .choleskySolve ? .choleskySolve : .explicitInverse, inputFactor: inputFactor,
                runningAverage: runningAverage, maxRetries: maxRetries))
        case let .kroneckerFactors(batch, maxRetries, inputMethod):
            self = .kronecker(try KFACCurvature(spec: spec, batch: batch, inputMethod: inputMethod, maxRetries: maxRetries))
        }
    }

    /// A block's kind without its payload.
    enum Kind { case perSample, matrix, embedding, kronecker, identity }

    /// What a step switches on: a switch on `self` would hold a second reference to the block
    /// for its whole body (in unoptimized builds), so changing it in place would copy it.
    var kind: Kind {
        switch self {
        case .perSample: .perSample
        case .matrix: .matrix
        case .embedding: .embedding
        case .kronecker: .kronecker
        case .identity: .identity
        case .moving: preconditionFailure("a curvature used while it is being changed")
        }
    }

    /// `modify` on the per-sample curvature.
    mutating func withPerSample<Other, Result, Failure: Error>(
        _ other: inout Other, _ body: (inout PerSampleCurvature<Scalar>, inout Other) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try modify({ if case let .perSample(block) = $0 { block } else { nil } }, { .perSample($0) }, &other, body)
    }

    /// `modify` on the matrix-form curvature.
    mutating func withMatrix<Other, Result, Failure: Error>(
        _ other: inout Other, _ body: (inout MatrixCurvature<Scalar>, inout Other) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try modify({ if case let .matrix(block) = $0 { block } else { nil } }, { .matrix($0) }, &other, body)
    }

    /// `modify` on K-FAC's factors.
    mutating func withKronecker<Other, Result, Failure: Error>(
        _ other: inout Other, _ body: (inout KFACCurvature<Scalar>, inout Other) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try modify({ if case let .kronecker(block) = $0 { block } else { nil } }, { .kronecker($0) }, &other, body)
    }

    /// `modify` on an embedding table's curvature.
    mutating func withEmbedding<Other, Result, Failure: Error>(
        _ other: inout Other, _ body: (inout EmbeddingCurvature<Scalar>, inout Other) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try modify({ if case let .embedding(block) = $0 { block } else { nil } }, { .embedding($0) }, &other, body)
    }

    /// `withEmbedding` with a second buffer of the caller's.
    mutating func withEmbedding<Other, Second, Result, Failure: Error>(
        _ other: inout Other, _ second: inout Second,
        _ body: (inout EmbeddingCurvature<Scalar>, inout Other, inout Second) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withEmbedding(&other) { (block, other) throws(Failure) in try body(&block, &other, &second) }
    }
}

extension LayerCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        switch self {
        case let .perSample(curvature): curvature.encode(to: &writer)
        case let .matrix(curvature): curvature.encode(to: &writer)
        case let .embedding(curvature): curvature.encode(to: &writer)
        case let .kronecker(curvature): curvature.encode(to: &writer)
        case .identity: break
        case .moving: preconditionFailure("a curvature saved while it is being changed")
        }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        var nothing: Void = ()
        switch self {
        case .perSample: try withPerSample(&nothing) { (block, _) throws(NGError) in try block.restore(from: &reader) }
        case .matrix: try withMatrix(&nothing) { (block, _) throws(NGError) in try block.restore(from: &reader) }
        case .embedding: try withEmbedding(&nothing) { (block, _) throws(NGError) in try block.restore(from: &reader) }
        case .kronecker: try withKronecker(&nothing) { (block, _) throws(NGError) in try block.restore(from: &reader) }
        case .identity: break
        case .moving: preconditionFailure("a curvature restored while it is being changed")
        }
    }
}
