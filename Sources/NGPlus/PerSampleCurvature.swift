/// The curvature of a dense or conv2d layer from per-sample statistics (docs/ALGORITHM.md §2a),
/// a `CurvatureBlock`: `accumulate` the GFIM from the layer's inputs and output gradients,
/// stage and commit a refresh of the damped inverse, apply it to a gradient or, for a dense
/// layer, fused. The workspaces are allocated at creation (and once more if a batch larger
/// than planned arrives); steady-state steps allocate nothing.
struct PerSampleCurvature<Scalar: BLASScalar>: ObservedCurvatureBlock, SingleInverseBlock {
    let plan: CurvaturePlan
    var builder: PerSampleBuilder<Scalar>
    /// F, and the next F while a statistics step is checked (order 1, unused, for a Woodbury
    /// plan, which keeps only the builder's factor).
    var gfim: Staged<BlockDiagonalMatrix<Scalar>>
    var inverse: CurvatureInverse<Scalar>
    /// The fused apply's workspace, dense layers only: dY·F̂⁻¹ (B × m) on the left side,
    /// [X | 1]·F̂⁻¹ (B × order) on the right.
    var fusedWorkspace: Matrix<Scalar>
    /// G̃ (m × (n + 1)) for a fused step whose G̃ has fewer rows or columns than the batch
    /// (empty until one arrives).
    var gradientWorkspace = Matrix<Scalar>(rows: 0, columns: 0)
    /// True once a statistics step has been accumulated.
    var hasStatistics = false

    init(spec: LayerSpec, plan: CurvaturePlan, batch: Int, maxRetries: Int) throws(NGError) {
        self.plan = plan
        builder = try PerSampleBuilder(spec: spec, side: plan.side, batch: batch)
        if case let .dense(outputs, _, _) = spec {
            fusedWorkspace = Matrix(rows: batch, columns: plan.side == .left ? outputs : plan.order)
        } else {
            fusedWorkspace = Matrix(rows: 0, columns: 0)
        }
        gfim = Staged(plan.method == .woodbury
            ? try BlockDiagonalMatrix(dimension: 1)
            : try BlockDiagonalMatrix(dimension: plan.order, blockSize: plan.blockSize))
        inverse = try CurvatureInverse(plan: plan, maxRetries: maxRetries)
    }

    /// Statistics of one validated mini-batch, all or nothing: `F ← (1−α)·F + α·F_new` (α = 1
    /// the first time), or for Woodbury only the low-rank factor.
    /// - Throws: `nonFinite` (argument `statistics`) when finite inputs overflow them; nothing
    ///   changes.
    mutating func accumulate(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, runningAverage: Scalar, _ operation: NGError.Operation
    ) throws(NGError) {
        try accumulate(.activations(inputs: inputs, outputGradients: outputGradients), runningAverage: runningAverage, operation)
    }

    /// `accumulate(inputs:outputGradients:runningAverage:_:)` from either form of statistics
    /// (a conv2d layer's per-sample gradients: `Conv2dGFIMBuilder.accumulate(sampleGradients:)`).
    mutating func accumulate(
        _ statistics: LayerStatistics<Scalar>, runningAverage: Scalar, _ operation: NGError.Operation
    ) throws(NGError) {
        let weight = hasStatistics ? runningAverage : 1
        let factorOnly = plan.method == .woodbury
        if !factorOnly { try gfim.prepareAverage(weight: weight) }
        let finite = builder.stage(statistics, newWeight: weight, factorOnly: factorOnly, into: &gfim.staged)
        guard finite else {
            let argument = "statistics (finite inputs whose products overflow)"
            if !factorOnly { try gfim.staged.requireFinite(operation, argument) }
            throw .nonFinite(operation: operation, argument: argument, row: 0, column: 0)
        }
        builder.commitStaged()
        if !factorOnly { gfim.commit() }
        hasStatistics = true
    }

    mutating func withInverse<Result>(_ body: (inout Inverse) -> Result) -> Result { body(&inverse) }

    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome {
        try inverse.stageRefresh(gfim: gfim.current, factor: builder.factor, damping: damping)
    }

    /// `D = F̂⁻¹·G` or `G·F̂⁻¹` for the plan's side; a dense layer's gradient fused.
    mutating func apply(_ gradient: LayerGradient<Scalar>, into direction: inout Matrix<Scalar>, slot: InverseSlot) {
        switch gradient {
        case let .matrix(gradient):
            inverse.apply(gradient, side: plan.side, into: &direction, slot: slot)
        case let .dense(inputs, outputGradients, bias):
            applyFused(inputs: inputs, outputGradients: outputGradients, bias: bias, into: &direction, slot: slot)
        }
    }

    var refreshFlops: Double { plan.refreshFlops }

    /// The explicit GFIM's blocks summed over the processes, or a Woodbury plan's factor rows
    /// gathered.
    var sharedStatistics: SharedStatistics {
        plan.method == .woodbury ? .gatheredRows(width: builder.factorWidth) : .summed(count: gfim.current.blockStorageCount)
    }

    mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void) {
        gfim.current.forEachBlockStorage { $0.withMutableSpan(body) }
    }

    /// The fused apply of a dense layer (docs/ALGORITHM.md §6), never forming G: on the left side
    /// `D = (dY·F̂⁻¹)ᵀ·[X | 1]`, on the right `D = dYᵀ·([X | 1]·F̂⁻¹)`. Each replaces the
    /// weight-gradient product and adds `2·order²·B` flops (per block; Woodbury `4·order·B²`).
    /// When G̃'s other dimension is below B (a 10-output layer on the right side, say) the
    /// product is associated the other way, `F̂⁻¹·G̃` or `G̃·F̂⁻¹` with G̃ formed by the usual
    /// gradient GEMM: the same matrix for `2·order²·other` (Woodbury `4·order·B·other`).
    /// Inputs validated by the caller.
    mutating func applyFused(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool,
        into direction: inout Matrix<Scalar>, slot: InverseSlot
    ) {
        let other = plan.side == .left ? direction.columns : direction.rows
        if other < inputs.rows {
            if gradientWorkspace.shape != direction.shape {
                gradientWorkspace = Matrix(rows: direction.rows, columns: direction.columns)
            }
            DenseGradient.weightGradientUnchecked(
                inputs: inputs, outputGradients: outputGradients, bias: bias, into: &gradientWorkspace)
            inverse.apply(gradientWorkspace, side: plan.side, into: &direction, slot: slot)
            return
        }
        let columns = plan.side == .left ? outputGradients.columns : plan.order
        if fusedWorkspace.rows != outputGradients.rows {
            fusedWorkspace = Matrix(rows: outputGradients.rows, columns: columns)
        }
        switch plan.side {
        case .left:
            // dY·F̂⁻¹ is the right-side apply of the (symmetric) left inverse to dY.
            inverse.apply(outputGradients, side: .right, into: &fusedWorkspace, slot: slot)
            DenseGradient.weightGradientUnchecked(
                inputs: inputs, outputGradients: fusedWorkspace, bias: bias, into: &direction)
        case .right:
            inverse.applyRight(toInputs: inputs, appendingOnes: bias, into: &fusedWorkspace, slot: slot)
            DenseGradient.weightGradientUnchecked(
                inputs: fusedWorkspace, outputGradients: outputGradients, bias: false, into: &direction)
        }
    }
}

extension PerSampleCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(plan.side.rawValue + " " + plan.method.rawValue)
        writer.write(hasStatistics)
        // Only a Woodbury plan reads the factor; otherwise it is the last batch's scratch.
        if plan.method == .woodbury { builder.encode(to: &writer) } else { builder.encodeWithoutFactor(to: &writer) }
        gfim.current.encode(to: &writer)
        inverse.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let saved = try reader.readString()
        let expected = plan.side.rawValue + " " + plan.method.rawValue
        guard saved == expected else { throw reader.fail("a layer planned as \(saved), now \(expected)") }
        hasStatistics = try reader.readBool()
        try builder.restore(from: &reader)
        try gfim.current.restore(from: &reader)
        try inverse.restore(from: &reader)
    }
}
