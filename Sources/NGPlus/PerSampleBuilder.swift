/// The builder of a per-sample GFIM: a dense layer's (with a second builder that stages the
/// next factor, since a dense builder's factor is part of the saved state) or a conv2d
/// layer's (whose workspaces are not).
enum PerSampleBuilder<Scalar: BLASScalar>: Sendable, InPlacePayload {
    case dense(current: LinearGFIMBuilder<Scalar>, staged: LinearGFIMBuilder<Scalar>)
    case conv(Conv2dGFIMBuilder<Scalar>)
    /// Only while a payload is out (`InPlacePayload`).
    case moving

    init(spec: LayerSpec, side: Side, batch: Int) throws(NGError) {
        switch spec {
        case let .dense(outputs, inputs, bias):
            let builder = try LinearGFIMBuilder<Scalar>(
                outputs: outputs, inputs: inputs, bias: bias, side: side, batchCapacity: batch)
            self = .dense(current: builder, staged: builder)
        case let .conv2d(geometry, outChannels, bias):
            self = .conv(try Conv2dGFIMBuilder(geometry: geometry, outChannels: outChannels, bias: bias, side: side))
        case .matrix, .vector, .embedding:
            preconditionFailure("per-sample statistics are for dense and conv2d layers")
        }
    }

    /// The low-rank factor U of the last committed statistics and its rows in use, with
    /// `F = rows·UᵀU` (dense layers; nil for conv2d).
    var factor: (rows: Matrix<Scalar>, rank: Int)? {
        guard case let .dense(current, _) = self else { return nil }
        return (current.scaledRows, current.batchSize)
    }

    /// The values in a row of the low-rank factor (dense layers; 0 for conv2d).
    var factorWidth: Int {
        guard case let .dense(current, _) = self else { return 0 }
        return current.dimension
    }

    /// `LinearGFIMBuilder.withGatheredFactor` on the factor in use (dense layers).
    mutating func withGatheredFactor(totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        withDense { current, _ in current.withGatheredFactor(totalRows: totalRows, body) }
    }

    /// Stages the statistics of one validated mini-batch: the factor into the staged builder
    /// (dense), and unless `factorOnly`, `F′ = (1−α)·F′ + α·F_new` into `gfim` (which holds F
    /// already when α < 1). Returns whether what was staged is finite.
    mutating func stage(
        _ statistics: LayerStatistics<Scalar>, newWeight: Scalar, factorOnly: Bool,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) -> Bool {
        if case .conv = self {
            modify({ if case let .conv(builder) = $0 { builder } else { nil } }, { .conv($0) }) { builder in
                switch statistics {
                case let .activations(x, dy):
                    builder.accumulateUnchecked(inputs: x, outputGradients: dy, newWeight: newWeight, into: &gfim)
                case let .sampleGradients(g):
                    builder.accumulateUnchecked(sampleGradients: g, newWeight: newWeight, into: &gfim)
                }
            }
            return gfim.isFinite
        }
        guard case let .activations(x, dy) = statistics else {
            preconditionFailure("a dense layer's statistics are its inputs and output gradients")
        }
        return withDense { _, staged in
            if factorOnly {
                staged.fillScaledRows(inputs: x, outputGradients: dy)
                return staged.factorIsFinite()
            }
            staged.accumulateUnchecked(inputs: x, outputGradients: dy, newWeight: newWeight, into: &gfim)
            return gfim.isFinite
        }
    }

    /// `modify` on a dense layer's two builders, the one in use and the staged one.
    private mutating func withDense<Result, Failure: Error>(
        _ body: (inout LinearGFIMBuilder<Scalar>, inout LinearGFIMBuilder<Scalar>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try modify({ if case let .dense(current, staged) = $0 { (current, staged) } else { nil } },
                   { .dense(current: $0.0, staged: $0.1) }) { (builders) throws(Failure) in
            try body(&builders.0, &builders.1)
        }
    }

    /// Puts the staged factor in use (dense layers).
    mutating func commitStaged() {
        guard case .dense(let current, let staged) = self else { return }
        self = .dense(current: staged, staged: current)
    }
}

extension PerSampleBuilder: StateCodable {
    func encode(to writer: inout StateWriter) {
        if case let .dense(current, _) = self { current.encode(to: &writer) }
    }

    /// The state with the factor left out (zeros: see `LinearGFIMBuilder.encodeWithoutFactor`),
    /// for a plan that keeps the GFIM itself.
    func encodeWithoutFactor(to writer: inout StateWriter) {
        if case let .dense(current, _) = self { current.encodeWithoutFactor(to: &writer) }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        guard case .dense = self else { return }
        try withDense { (current, _) throws(NGError) in try current.restore(from: &reader) }
    }
}
