/// The curvature of a dense or conv2d layer from per-sample statistics (ALGORITHM.md §2a),
/// kfac-jax style: `accumulate` the GFIM from the layer's inputs and output gradients,
/// `refresh` the damped inverse, `apply` it to a gradient. The workspaces are allocated at
/// creation (and once more if a batch larger than planned arrives); steady-state steps
/// allocate nothing. Exactly one builder and one inverse are set; they are optionals rather
/// than enum payloads so that they are mutated in place, never copied.
struct PerSampleCurvature<Scalar: BLASScalar>: Sendable {
    let plan: CurvaturePlan
    var linear: LinearGFIMBuilder<Scalar>?
    var conv: Conv2dGFIMBuilder<Scalar>?
    var gfim: BlockDiagonalMatrix<Scalar>
    var cholesky: DampedInverse<Scalar>?
    var woodbury: WoodburyInverse<Scalar>?
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
        switch spec {
        case let .dense(outputs, inputs, bias):
            linear = try LinearGFIMBuilder(
                outputs: outputs, inputs: inputs, bias: bias, side: plan.side, batchCapacity: batch)
            fusedWorkspace = Matrix(rows: batch, columns: plan.side == .left ? outputs : plan.order)
        case let .conv2d(geometry, outChannels, bias):
            conv = try Conv2dGFIMBuilder(geometry: geometry, outChannels: outChannels, bias: bias, side: plan.side)
            fusedWorkspace = Matrix(rows: 0, columns: 0)
        case .matrix, .vector:
            preconditionFailure("PerSampleCurvature is for dense and conv2d layers")
        }
        if plan.method == .woodbury {
            gfim = try BlockDiagonalMatrix(dimension: 1)
            woodbury = try WoodburyInverse(dimension: plan.order, maxRetries: maxRetries)
        } else {
            gfim = try BlockDiagonalMatrix(dimension: plan.order, blockSize: plan.blockSize)
            cholesky = try DampedInverse(
                dimension: plan.order, blockSize: plan.blockSize,
                method: plan.method == .choleskySolve ? .choleskySolve : .explicitInverse,
                maxRetries: maxRetries)
        }
    }

    /// Statistics of one mini-batch: `F ← (1−α)·F + α·F_new`, α = 1 the first time. Woodbury
    /// keeps only the low-rank factor.
    mutating func accumulate(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, runningAverage: Scalar
    ) throws(NGError) {
        let weight = hasStatistics ? runningAverage : 1
        if plan.method == .woodbury {
            try linear!.prepareFactor(inputs: inputs, outputGradients: outputGradients)
        } else if linear != nil {
            try linear!.accumulate(inputs: inputs, outputGradients: outputGradients, newWeight: weight, into: &gfim)
        } else {
            try conv!.accumulate(inputs: inputs, outputGradients: outputGradients, newWeight: weight, into: &gfim)
        }
        hasStatistics = true
    }

    /// The damped inverse from the statistics so far; the previous one stays on a throw.
    mutating func refresh(damping: DampingRule) throws(NGError) {
        if woodbury != nil {
            let builder = linear!
            try woodbury!.refresh(
                factors: builder.scaledRows, rank: builder.batchSize, scale: Scalar(builder.batchSize),
                damping: damping)
        } else {
            try cholesky!.refresh(from: gfim, damping: damping)
        }
    }

    /// `D = F̂⁻¹·G` or `G·F̂⁻¹` for the plan's side (G validated by the caller).
    mutating func apply(_ gradient: Matrix<Scalar>, into direction: inout Matrix<Scalar>) throws(NGError) {
        if woodbury != nil {
            try woodbury!.apply(gradient, side: plan.side, into: &direction)
        } else {
            try cholesky!.apply(gradient, side: plan.side, into: &direction)
        }
    }

    /// The fused apply of a dense layer (ALGORITHM.md §6), never forming G: on the left side
    /// `D = (dY·F̂⁻¹)ᵀ·[X | 1]`, on the right `D = dYᵀ·([X | 1]·F̂⁻¹)`. Each replaces the
    /// weight-gradient GEMM and adds `2·order²·B` flops (per block; Woodbury `4·order·B²`).
    /// When G̃'s other dimension is below B (a 10-output layer on the right side, say) the
    /// product is associated the other way, `F̂⁻¹·G̃` or `G̃·F̂⁻¹` with G̃ formed by the usual
    /// gradient GEMM: the same matrix for `2·order²·other` (Woodbury `4·order·B·other`).
    /// Inputs validated by the caller.
    mutating func applyFused(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool,
        into direction: inout Matrix<Scalar>
    ) throws(NGError) {
        precondition(linear != nil, "fused apply is for dense layers")
        let other = plan.side == .left ? direction.columns : direction.rows
        if other < inputs.rows {
            if gradientWorkspace.shape != direction.shape {
                gradientWorkspace = Matrix(rows: direction.rows, columns: direction.columns)
            }
            try DenseGradient.weightGradient(
                inputs: inputs, outputGradients: outputGradients, bias: bias, into: &gradientWorkspace)
            try apply(gradientWorkspace, into: &direction)
            return
        }
        let columns = plan.side == .left ? outputGradients.columns : plan.order
        if fusedWorkspace.rows != outputGradients.rows {
            fusedWorkspace = Matrix(rows: outputGradients.rows, columns: columns)
        }
        switch plan.side {
        case .left:
            // dY·F̂⁻¹ is the right-side apply of the (symmetric) left inverse to dY.
            if woodbury != nil {
                try woodbury!.apply(outputGradients, side: .right, into: &fusedWorkspace)
            } else {
                try cholesky!.apply(outputGradients, side: .right, into: &fusedWorkspace)
            }
            try DenseGradient.weightGradient(
                inputs: inputs, outputGradients: fusedWorkspace, bias: bias, into: &direction)
        case .right:
            if woodbury != nil {
                try woodbury!.applyRight(toInputs: inputs, appendingOnes: bias, into: &fusedWorkspace)
            } else {
                try cholesky!.applyRight(toInputs: inputs, appendingOnes: bias, into: &fusedWorkspace)
            }
            try DenseGradient.weightGradient(
                inputs: fusedWorkspace, outputGradients: outputGradients, bias: false, into: &direction)
        }
    }
}
