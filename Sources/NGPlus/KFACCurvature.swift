/// K-FAC's curvature of a dense or conv2d layer, a `CurvatureBlock`: the Kronecker factors
/// A (inputs) and G (output gradients) of `KFACFactorBuilder`, each with a damped Cholesky
/// inverse, applied as `D = (G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹`. Statistics, refreshes and applies
/// are staged and committed as NG+'s are, both factors together.
struct KFACCurvature<Scalar: BLASScalar>: ObservedCurvatureBlock {
    var builder: KFACFactorBuilder<Scalar>
    /// The batch the flop count is made for.
    let plannedBatch: Int
    var inputFactor: BlockDiagonalMatrix<Scalar>
    var outputFactor: BlockDiagonalMatrix<Scalar>
    var stagedInputFactor: BlockDiagonalMatrix<Scalar>
    var stagedOutputFactor: BlockDiagonalMatrix<Scalar>
    var inputInverse: DampedInverse<Scalar>
    var outputInverse: DampedInverse<Scalar>
    var hasStatistics = false
    /// Workspace: G⁻¹·∇W̃.
    var half: Matrix<Scalar>
    /// Workspace: ∇W̃ of a fused dense step (K-FAC preconditions on both sides, so it cannot
    /// fuse); empty for a convolution, whose gradient always arrives formed.
    var formedGradient: Matrix<Scalar>

    /// The flops of a step for the planned batch: the factors `A = ÃᵀÃ` (a² a row) and
    /// `G = dYᵀdY` (m² a row) over the rows of a statistics step (a sample's positions, for a
    /// convolution), their Cholesky inverses (a³ + m³) every k steps, and `G⁻¹·∇W̃·A⁻¹`
    /// (2m²a + 2ma²).
    func flopsPerStep(inverseInterval k: Double, statisticsInterval s: Double) -> Double {
        let (a, m) = (Double(builder.inputOrder), Double(builder.outputs))
        let rows = Double(plannedBatch) * Double(builder.geometry?.positions ?? 1)
        return (a * a + m * m) * rows / s + (a * a * a + m * m * m) / k + 2 * m * m * a + 2 * m * a * a
    }

    init(spec: LayerSpec, batch: Int, maxRetries: Int) throws(NGError) {
        plannedBatch = batch
        switch spec {
        case let .dense(outputs, inputs, bias):
            builder = try KFACFactorBuilder(outputs: outputs, inputs: inputs, bias: bias, batchCapacity: batch)
        case let .conv2d(geometry, outChannels, bias):
            builder = try KFACFactorBuilder(geometry: geometry, outChannels: outChannels, bias: bias)
        case .matrix, .vector, .embedding:
            preconditionFailure("K-FAC's factors are for dense and conv2d layers")
        }
        let (inputOrder, outputOrder) = (builder.inputOrder, builder.outputs)
        inputFactor = try BlockDiagonalMatrix(dimension: inputOrder, blockSize: inputOrder)
        outputFactor = try BlockDiagonalMatrix(dimension: outputOrder, blockSize: outputOrder)
        stagedInputFactor = inputFactor
        stagedOutputFactor = outputFactor
        inputInverse = try DampedInverse(dimension: inputOrder, blockSize: inputOrder, maxRetries: maxRetries)
        outputInverse = try DampedInverse(dimension: outputOrder, blockSize: outputOrder, maxRetries: maxRetries)
        half = Matrix(rows: outputOrder, columns: inputOrder)
        formedGradient = if case .dense = spec { half } else { Matrix(rows: 0, columns: 0) }
    }

    /// Both factors of one validated mini-batch, all or nothing.
    /// - Throws: `nonFinite` when finite inputs overflow them; nothing changes.
    mutating func accumulate(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, runningAverage: Scalar, _ operation: NGError.Operation
    ) throws(NGError) {
        let weight = hasStatistics ? runningAverage : 1
        if weight != 1 {
            try stagedInputFactor.assign(from: inputFactor)
            try stagedOutputFactor.assign(from: outputFactor)
        }
        builder.accumulateUnchecked(
            inputs: inputs, outputGradients: outputGradients, newWeight: weight,
            inputFactor: &stagedInputFactor, outputFactor: &stagedOutputFactor)
        try stagedInputFactor.requireFinite(operation, "input factor (finite inputs whose products overflow)")
        try stagedOutputFactor.requireFinite(operation, "output factor (finite inputs whose products overflow)")
        swap(&inputFactor, &stagedInputFactor)
        swap(&outputFactor, &stagedOutputFactor)
        hasStatistics = true
    }

    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome {
        var outcome = RefreshOutcome()
        outcome.summary.include(try inputInverse.stageRefresh(fromFinite: inputFactor, damping: damping))
        outcome.summary.include(try outputInverse.stageRefresh(fromFinite: outputFactor, damping: damping))
        return outcome
    }

    mutating func commitRefresh() {
        inputInverse.commitStagedRefresh()
        outputInverse.commitStagedRefresh()
    }

    var hasInverse: Bool { inputInverse.isRefreshed && outputInverse.isRefreshed }

    /// Both inverses' records, the input factor's first.
    var refreshRecordSize: (values: Int, figures: Int)? {
        let (input, output) = (inputInverse.stagedRecordSize, outputInverse.stagedRecordSize)
        return (input.values + output.values, input.figures + output.figures)
    }

    mutating func writeStagedRefresh(values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>) {
        let input = inputInverse.stagedRecordSize
        inputInverse.writeStagedRecord(values: values, figures: figures)
        outputInverse.writeStagedRecord(
            values: UnsafeMutableBufferPointer(rebasing: values[input.values...]),
            figures: UnsafeMutableBufferPointer(rebasing: figures[input.figures...]))
    }

    mutating func adoptStagedRefresh(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) -> RefreshSummary {
        let input = inputInverse.stagedRecordSize
        var summary = inputInverse.adoptStagedRecord(values: values, figures: figures)
        summary.include(outputInverse.adoptStagedRecord(
            values: UnsafeBufferPointer(rebasing: values[input.values...]),
            figures: UnsafeBufferPointer(rebasing: figures[input.figures...])))
        return summary
    }

    /// `D = (G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹`, ∇W̃ formed first for a dense layer's fused step.
    mutating func apply(_ gradient: LayerGradient<Scalar>, into direction: inout Matrix<Scalar>, slot: InverseSlot) {
        switch gradient {
        case let .matrix(gradient):
            outputInverse.applyUnchecked(gradient, side: .left, into: &half, slot: slot)
        case .dense:
            gradient.write(into: &formedGradient)
            outputInverse.applyUnchecked(formedGradient, side: .left, into: &half, slot: slot)
        }
        inputInverse.applyUnchecked(half, side: .right, into: &direction, slot: slot)
    }

    /// Both Cholesky inverses: a³ + m³.
    var refreshFlops: Double {
        let (a, m) = (Double(inputFactor.dimension), Double(outputFactor.dimension))
        return a * a * a + m * m * m
    }

    /// Both factors, summed over the processes.
    var sharedStatistics: SharedStatistics {
        .summed(count: inputFactor.blockStorageCount + outputFactor.blockStorageCount)
    }

    mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void) {
        inputFactor.forEachBlockStorage { $0.withMutableSpan(body) }
        outputFactor.forEachBlockStorage { $0.withMutableSpan(body) }
    }
}

extension KFACCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(hasStatistics)
        inputFactor.encode(to: &writer)
        outputFactor.encode(to: &writer)
        inputInverse.encode(to: &writer)
        outputInverse.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        hasStatistics = try reader.readBool()
        try inputFactor.restore(from: &reader)
        try outputFactor.restore(from: &reader)
        try inputInverse.restore(from: &reader)
        try outputInverse.restore(from: &reader)
    }
}
