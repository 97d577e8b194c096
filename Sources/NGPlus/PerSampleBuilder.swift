/// The builder of a per-sample GFIM: a dense layer's (with a second builder that stages the
/// next factor, since a dense builder's factor is part of the saved state) or a conv2d
/// layer's (whose workspaces are not).
enum PerSampleBuilder<Scalar: BLASScalar>: Sendable {
    case dense(current: LinearGFIMBuilder<Scalar>, staged: LinearGFIMBuilder<Scalar>)
    case conv(Conv2dGFIMBuilder<Scalar>)
    /// Only while a payload is taken out to be changed in place.
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
        guard case .dense(var current, let staged) = consume self else {
            preconditionFailure("a low-rank factor is a dense layer's")
        }
        self = .moving
        defer { self = .dense(current: current, staged: staged) }
        current.withGatheredFactor(totalRows: totalRows, body)
    }

    /// Stages the statistics of one validated mini-batch: the factor into the staged builder
    /// (dense), and unless `factorOnly`, `F′ = (1−α)·F′ + α·F_new` into `gfim` (which holds F
    /// already when α < 1). Returns whether what was staged is finite.
    mutating func stage(
        _ statistics: LayerStatistics<Scalar>, newWeight: Scalar, factorOnly: Bool,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) -> Bool {
        switch consume self {
        case .dense(let current, var staged):
            self = .moving
            defer { self = .dense(current: current, staged: staged) }
            guard case let .activations(x, dy) = statistics else {
                preconditionFailure("a dense layer's statistics are its inputs and output gradients")
            }
            if factorOnly {
                staged.fillScaledRows(inputs: x, outputGradients: dy)
                return staged.factorIsFinite()
            }
            staged.accumulateUnchecked(inputs: x, outputGradients: dy, newWeight: newWeight, into: &gfim)
            return gfim.isFinite
        case .conv(var builder):
            self = .moving
            defer { self = .conv(builder) }
            switch statistics {
            case let .activations(x, dy):
                builder.accumulateUnchecked(inputs: x, outputGradients: dy, newWeight: newWeight, into: &gfim)
            case let .sampleGradients(g):
                builder.accumulateUnchecked(sampleGradients: g, newWeight: newWeight, into: &gfim)
            }
            return gfim.isFinite
        case .moving:
            preconditionFailure("a GFIM builder used while it is being changed")
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
        guard case .dense(var current, let staged) = self else { return }
        self = .moving
        defer { self = .dense(current: current, staged: staged) }
        try current.restore(from: &reader)
    }
}
