/// K-FAC's curvature of a dense or conv2d layer, a `CurvatureBlock`: the Kronecker factors
/// A (inputs) and G (output gradients) of `KFACFactorBuilder`, each with a damped inverse
/// (`KFACFactor`: Cholesky, or for a dense layer's wide input factor Woodbury on its rows),
/// applied as `D = (G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹`. Statistics, refreshes and applies are
/// staged and committed as NG+'s are, both factors together.
struct KFACCurvature<Scalar: BLASScalar>: ObservedCurvatureBlock {
    var builder: KFACFactorBuilder<Scalar>
    /// The flop model at the planned batch.
    let flops: KFACFlops
    /// A = (1/B)·X̃ᵀX̃, of the inputs (with a column of ones for a bias).
    var input: KFACFactor<Scalar>
    /// G = B·dYᵀdY, of the output gradients.
    var output: KFACFactor<Scalar>
    var hasStatistics = false
    /// Workspace: G⁻¹·∇W̃.
    var half: Matrix<Scalar>
    /// Workspace: ∇W̃ of a dense step applied in the formed order, or formed for the trust
    /// region after a low-rank apply (`gradientProduct`); empty for a convolution, whose
    /// gradient always arrives formed.
    var formedGradient: Matrix<Scalar>
    /// Workspaces of a dense step applied in the low-rank order (`applyDense`): dY·G⁻¹ (B × m)
    /// and [X | 1]·A⁻¹ (B × a); empty until one is.
    var outputSide = Matrix<Scalar>(rows: 0, columns: 0)
    var inputSide = Matrix<Scalar>(rows: 0, columns: 0)
    /// Workspaces of the trust region's product from those rows (`productFromRows`):
    /// P·dYᵀ and Q·Xᵀ, B × B each; empty until one is made.
    var outputCross = Matrix<Scalar>(rows: 0, columns: 0)
    var inputCross = Matrix<Scalar>(rows: 0, columns: 0)

    /// The flops of a step beyond SGD's at the planned batch (`KFACFlops`).
    func flopsPerStep(inverseInterval k: Double, statisticsInterval s: Double) -> Double {
        flops.perStep(inverseInterval: k, statisticsInterval: s)
    }

    init(spec: LayerSpec, batch: Int, inputMethod: CurvatureMethod, maxRetries: Int) throws(NGError) {
        flops = KFACFlops(spec: spec, batch: batch, inputMethod: inputMethod)
        switch spec {
        case let .dense(outputs, inputs, bias):
            builder = try KFACFactorBuilder(outputs: outputs, inputs: inputs, bias: bias, batchCapacity: batch)
        case let .conv2d(geometry, outChannels, bias):
            builder = try KFACFactorBuilder(geometry: geometry, outChannels: outChannels, bias: bias)
        case .matrix, .vector, .embedding:
            preconditionFailure("K-FAC's factors are for dense and conv2d layers")
        }
        let (inputOrder, outputOrder) = (builder.inputOrder, builder.outputs)
        input = try KFACFactor(order: inputOrder, method: inputMethod, batch: batch, maxRetries: maxRetries)
        output = try KFACFactor(order: outputOrder, batch: batch, maxRetries: maxRetries)
        half = Matrix(rows: outputOrder, columns: inputOrder)
        formedGradient = if case .dense = spec { half } else { Matrix(rows: 0, columns: 0) }
    }

    /// Both factors of one validated mini-batch, all or nothing.
    /// - Throws: `nonFinite` when finite inputs overflow them; nothing changes.
    mutating func accumulate(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, runningAverage: Scalar, _ operation: NGError.Operation
    ) throws(NGError) {
        let weight = hasStatistics ? runningAverage : 1
        try input.prepareStaging(weight: weight)
        try output.prepareStaging(weight: weight)
        if input.isLowRank {
            builder.fillInputRows(inputs: inputs, into: &input.rows.staged)
            builder.accumulateOutputUnchecked(outputGradients: outputGradients, newWeight: weight, into: &output.factor.staged)
        } else {
            builder.accumulateUnchecked(
                inputs: inputs, outputGradients: outputGradients, newWeight: weight,
                inputFactor: &input.factor.staged, outputFactor: &output.factor.staged)
        }
        try input.requireStagedFinite(operation, "input factor (finite inputs whose products overflow)")
        try output.requireStagedFinite(operation, "output factor (finite inputs whose products overflow)")
        input.commitStaged()
        output.commitStaged()
        hasStatistics = true
    }

    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome {
        var outcome = RefreshOutcome()
        outcome.summary.include(try input.stageRefresh(damping: damping).summary)
        outcome.summary.include(try output.stageRefresh(damping: damping).summary)
        return outcome
    }

    mutating func commitRefresh() {
        input.inverse.commitStagedRefresh()
        output.inverse.commitStagedRefresh()
    }

    var hasInverse: Bool { input.inverse.isRefreshed && output.inverse.isRefreshed }

    /// Both inverses' records, the input factor's first; nil when the input factor is
    /// low-rank: every process then makes the whole refresh (the Woodbury part costs less to
    /// make than to wait for, and the output factor's order is the layer's outputs).
    var refreshRecordSize: (values: Int, figures: Int)? {
        guard let first = input.inverse.sharedRecordSize, let second = output.inverse.sharedRecordSize else { return nil }
        return (first.values + second.values, first.figures + second.figures)
    }

    mutating func writeStagedRefresh(values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>) {
        guard let first = input.inverse.sharedRecordSize else { preconditionFailure("a low-rank factor's refresh is not sent") }
        input.inverse.writeStagedRecord(values: values, figures: figures)
        output.inverse.writeStagedRecord(
            values: UnsafeMutableBufferPointer(rebasing: values[first.values...]),
            figures: UnsafeMutableBufferPointer(rebasing: figures[first.figures...]))
    }

    mutating func adoptStagedRefresh(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) -> RefreshSummary {
        guard let first = input.inverse.sharedRecordSize else { preconditionFailure("a low-rank factor's refresh is not sent") }
        var summary = input.inverse.adoptStagedRecord(values: values, figures: figures)
        summary.include(output.inverse.adoptStagedRecord(
            values: UnsafeBufferPointer(rebasing: values[first.values...]),
            figures: UnsafeBufferPointer(rebasing: figures[first.figures...])))
        return summary
    }

    /// `D = (G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹`.
    mutating func apply(_ gradient: LayerGradient<Scalar>, into direction: inout Matrix<Scalar>, slot: InverseSlot) {
        switch gradient {
        case let .matrix(gradient):
            output.inverse.apply(gradient, side: .left, into: &half, slot: slot)
            input.inverse.apply(half, side: .right, into: &direction, slot: slot)
        case let .dense(inputs, outputGradients, bias):
            applyDense(inputs: inputs, outputGradients: outputGradients, bias: bias, into: &direction, slot: slot)
        }
    }

    /// A dense layer's D from its batch, ∇W̃ = dYᵀ·[X | 1] of rank at most B. In the formed
    /// order ∇W̃ is made, then multiplied by G⁻¹ and A⁻¹; in the low-rank order, with G⁻¹
    /// symmetric, `D = (dY·G⁻¹)ᵀ·([X | 1]·A⁻¹)`: the two inverses applied to the batch's rows
    /// and one GEMM in place of the gradient's. The cheaper order runs (`KFACFlops`) — the
    /// low-rank one when the batch is small beside both orders.
    mutating func applyDense(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool, into direction: inout Matrix<Scalar>,
        slot: InverseSlot
    ) {
        guard appliesLowRank(batch: inputs.rows) else {
            DenseGradient.weightGradientUnchecked(
                inputs: inputs, outputGradients: outputGradients, bias: bias, into: &formedGradient)
            output.inverse.apply(formedGradient, side: .left, into: &half, slot: slot)
            input.inverse.apply(half, side: .right, into: &direction, slot: slot)
            return
        }
        if outputSide.rows != inputs.rows {
            outputSide = Matrix(rows: inputs.rows, columns: builder.outputs)
            inputSide = Matrix(rows: inputs.rows, columns: builder.inputOrder)
        }
        output.inverse.apply(outputGradients, side: .right, into: &outputSide, slot: slot)
        input.inverse.applyRight(toInputs: inputs, appendingOnes: bias, into: &inputSide, slot: slot)
        DenseGradient.weightGradientUnchecked(inputs: inputSide, outputGradients: outputSide, bias: false, into: &direction)
    }

    /// Whether a dense step of `batch` rows applies the inverses to the rows (`applyDense`),
    /// leaving ∇W̃ unformed.
    func appliesLowRank(batch: Int) -> Bool {
        flops.at(batch: batch).appliesLowRank
    }

    /// `⟨D, ∇W̃⟩` of the direction `apply` made from `gradient` (`KLClip`): ∇W̃ as handed in or
    /// as the formed order left it; after a low-rank apply, from the apply's rows where that
    /// costs less (`productFromRows`), else ∇W̃ formed here (2·B·m·a flops).
    mutating func gradientProduct(_ direction: Matrix<Scalar>, _ gradient: LayerGradient<Scalar>) -> Scalar {
        let formed: Matrix<Scalar>
        switch gradient {
        case let .matrix(gradient):
            formed = gradient
        case let .dense(inputs, outputGradients, bias):
            let model = flops.at(batch: inputs.rows)
            if model.gradientProductFromRows {
                return productFromRows(inputs: inputs, outputGradients: outputGradients, bias: bias)
            }
            if model.appliesLowRank {
                DenseGradient.weightGradientUnchecked(
                    inputs: inputs, outputGradients: outputGradients, bias: bias, into: &formedGradient)
            }
            formed = formedGradient
        }
        return direction.withView { d in formed.withView { g in BLAS.dot(d.flattened, g.flattened) } }
    }

    /// `⟨D, ∇W̃⟩` after a low-rank apply, without ∇W̃: with D = Pᵀ·Q (P = dY·G⁻¹ and
    /// Q = X̃·A⁻¹, the rows the apply left in `outputSide` and `inputSide`) and ∇W̃ = dYᵀ·X̃,
    /// `Σ_ij D_ij·∇W̃_ij = Σ_bc (P·dYᵀ)_bc·(Q·X̃ᵀ)_bc`: two B × B products. X̃'s column of ones
    /// adds `Σ_b Q_b,n·Σ_c (P·dYᵀ)_bc`.
    mutating func productFromRows(inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, bias: Bool) -> Scalar {
        let (batch, n, order) = (x.rows, x.columns, inputSide.columns)
        if outputCross.rows != batch {
            outputCross = Matrix(rows: batch, columns: batch)
            inputCross = Matrix(rows: batch, columns: batch)
        }
        withViews(outputSide, dy, mutating: &outputCross) { p, dy, cross in
            BLAS.gemmOnWorkers(p, dy, transposeB: true, into: cross)
        }
        withViews(inputSide, x, mutating: &inputCross) { q, x, cross in
            BLAS.gemmOnWorkers(q.columns(0..<n), x, transposeB: true, into: cross)
        }
        var product = outputCross.withView { p in inputCross.withView { q in BLAS.dot(p.flattened, q.flattened) } }
        guard bias else { return product }
        outputCross.withUnsafeBufferPointer { cross in
            inputSide.withUnsafeBufferPointer { q in
                for b in 0..<batch {
                    var sum: Scalar = 0
                    for c in 0..<batch { sum += cross[b * batch + c] }
                    product += q[b * order + n] * sum
                }
            }
        }
        return product
    }

    /// `gradientProduct`'s flops at the planned batch (`KFACFlops.gradientProduct`).
    var gradientProductFlops: Double { flops.gradientProduct }

    /// Both inverses' refresh (`KFACFlops.refresh`).
    var refreshFlops: Double { flops.refresh }

    /// The explicit factors summed over the processes; a low-rank input factor's rows gathered.
    var sharedStatistics: SharedStatistics {
        SharedStatistics(
            summedCount: input.summedCount + output.summedCount, gatheredRowWidth: input.isLowRank ? input.rows.current.width : 0)
    }

    mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void) {
        if !input.isLowRank { input.factor.current.forEachBlockStorage { $0.withMutableSpan(body) } }
        output.factor.current.forEachBlockStorage { $0.withMutableSpan(body) }
    }

    /// The low-rank input factor's rows grown to `totalRows` (`FactorRows.withGathered`).
    mutating func withGatheredRows(totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void) {
        input.rows.current.withGathered(totalRows: totalRows) { $0.withMutableSpan(body) }
    }
}

extension KFACCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(hasStatistics)
        input.encode(to: &writer)
        output.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        hasStatistics = try reader.readBool()
        try input.restore(from: &reader)
        try output.restore(from: &reader)
    }
}
