/// The mini-batch GFIM form for any matrix parameter (ALGORITHM.md §2b), as the reference
/// optimizer runs it: momentum first, `M ← μ·M + (G + wd·W)`; every `statisticsInterval`
/// steps `F ← β·F + (1−β)·M·Mᵀ` from `F₀ = ε·I`; every `inverseInterval` steps the damped
/// inverse; the update is `W ← W − lr·F̂⁻¹·M` (or `M·F̂⁻¹` on the right).
///
/// A step computes the new M and F in workspaces and swaps them in only after the refresh
/// succeeded, so a step that throws changes nothing.
struct MatrixCurvature<Scalar: BLASScalar>: Sendable {
    let plan: CurvaturePlan
    var momentum: Matrix<Scalar>
    var momentumWorkspace: Matrix<Scalar>
    var gfim: BlockDiagonalMatrix<Scalar>
    var gfimWorkspace: BlockDiagonalMatrix<Scalar>
    var inverse: DampedInverse<Scalar>

    init(shape: Shape, plan: CurvaturePlan, epsilon: Double, maxRetries: Int) throws(NGError) {
        self.plan = plan
        momentum = Matrix(rows: shape.rows, columns: shape.columns)
        momentumWorkspace = momentum
        gfim = try BlockDiagonalMatrix(dimension: plan.order, blockSize: plan.blockSize)
        gfim.setDiagonal(Scalar(epsilon))
        gfimWorkspace = gfim
        inverse = try DampedInverse(
            dimension: plan.order, blockSize: plan.blockSize,
            method: plan.method == .choleskySolve ? .choleskySolve : .explicitInverse, maxRetries: maxRetries)
    }

    /// One step of the reference optimizer form; `direction` (W's shape) receives `F̂⁻¹·M`.
    /// Validated inputs; throws only from the refresh, with nothing changed.
    mutating func step(
        weight: Matrix<Scalar>, gradient: Matrix<Scalar>, momentum mu: Scalar, weightDecay: Scalar,
        beta: Scalar, statisticsStep: Bool, refreshStep: Bool, damping: DampingRule,
        into direction: inout Matrix<Scalar>
    ) throws(NGError) {
        let count = momentum.rows * momentum.columns
        momentum.withUnsafeBufferPointer { m in
            gradient.withUnsafeBufferPointer { g in
                momentumWorkspace.withUnsafeMutableBufferPointer { w in
                    w.baseAddress!.update(from: m.baseAddress!, count: count)
                    Scalar.scal(n: count, alpha: mu, x: w.baseAddress!, incx: 1)
                    Scalar.axpy(n: count, alpha: 1, x: g.baseAddress!, incx: 1, y: w.baseAddress!, incy: 1)
                }
            }
        }
        if weightDecay != 0 {
            addToWeightColumns(weightDecay, of: weight, into: &momentumWorkspace, weightColumns: weight.columns)
        }
        if statisticsStep {
            try gfimWorkspace.assign(from: gfim)
            try GFIM.miniBatch(momentumWorkspace, side: plan.side, newWeight: 1 - beta, into: &gfimWorkspace)
        }
        if refreshStep {
            try inverse.refresh(from: statisticsStep ? gfimWorkspace : gfim, damping: damping)
        }
        swap(&momentum, &momentumWorkspace)
        if statisticsStep { swap(&gfim, &gfimWorkspace) }
        try inverse.apply(momentum, side: plan.side, into: &direction)
    }
}
