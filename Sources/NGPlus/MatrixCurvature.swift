/// How the matrix form's momentum buffer starts.
public enum MatrixMomentumStart: String, Sendable, Codable, CaseIterable {
    /// `M₀ = 0`, so the first buffer is `G₁ + wd·W₀`: the first step of PyTorch's SGD with
    /// momentum. The default.
    case zero
    /// `M₀ = G₁` and then multiplied and added on the same step, so the first buffer is
    /// `(1 + μ)·G₁ + wd·W₀`: what the authors' optimizer does.
    case firstGradient
}

/// The mini-batch GFIM form for any matrix parameter (docs/ALGORITHM.md §2b), a `CurvatureBlock`:
/// momentum first, `M ← μ·M + (G + wd·W)` (from `M₀` of `MatrixMomentumStart`); every
/// `statisticsInterval` steps `F ← β·F + (1−β)·M·Mᵀ` from `F₀ = ε·I`; every `inverseInterval`
/// steps the damped inverse; the update is `W ← W − lr·F̂⁻¹·M` (or `M·F̂⁻¹` on the right).
///
/// A step stages the new M and F beside the ones in use and commits them with the inverse only
/// after the step's last check, so a step that throws changes nothing.
struct MatrixCurvature<Scalar: BLASScalar>: SingleInverseBlock {
    let plan: CurvaturePlan
    /// β of `F ← β·F + (1−β)·M·Mᵀ`.
    let beta: Scalar
    let start: MatrixMomentumStart
    var momentum: Staged<Matrix<Scalar>>
    var gfim: Staged<BlockDiagonalMatrix<Scalar>>
    /// Whether `gfim.staged` holds the statistics of the step being staged.
    var statisticsStaged = false
    var inverse: CurvatureInverse<Scalar>

    init(
        shape: Shape, plan: CurvaturePlan, beta: Double, epsilon: Double, start: MatrixMomentumStart, maxRetries: Int
    ) throws(NGError) {
        self.plan = plan
        self.beta = Scalar(beta)
        self.start = start
        momentum = Staged(Matrix(rows: shape.rows, columns: shape.columns))
        var initial = try BlockDiagonalMatrix<Scalar>(dimension: plan.order, blockSize: plan.blockSize)
        initial.setDiagonal(Scalar(epsilon))
        gfim = Staged(initial)
        inverse = try CurvatureInverse(plan: plan, maxRetries: maxRetries)
    }

    /// Stages `M′ = μ·M + G + wd·W` (M = G on the first step when the start is
    /// `firstGradient`) and, on a statistics step, `F′ = β·F + (1−β)·M′·M′ᵀ`.
    /// - Throws: `nonFinite` when finite inputs overflow them; nothing changes.
    mutating func stageMomentum(
        weight: Matrix<Scalar>, gradient: Matrix<Scalar>, momentum mu: Scalar, weightDecay: Scalar,
        firstStep: Bool, statisticsStep: Bool, _ operation: NGError.Operation
    ) throws(NGError) {
        let previous = firstStep && start == .firstGradient ? gradient : momentum.current
        withViews(previous, gradient, mutating: &momentum.staged) { m, g, staged in
            staged.update(from: m)
            BLAS.scal(mu, staged.flattened)
            BLAS.axpy(1, g.flattened, into: staged.flattened)
        }
        if weightDecay != 0 {
            addToWeightColumns(weightDecay, of: weight, into: &momentum.staged, weightColumns: weight.columns)
        }
        try momentum.staged.requireFinite(operation, "momentum (finite inputs whose products overflow)")
        statisticsStaged = statisticsStep
        guard statisticsStep else { return }
        try gfim.staged.assign(from: gfim.current)
        GFIM.miniBatchUnchecked(momentum.staged, side: plan.side, newWeight: 1 - beta, into: &gfim.staged)
        try gfim.staged.requireFinite(operation, "statistics (finite inputs whose products overflow)")
    }

    /// The inverse from the statistics staged on this step, or the last ones.
    mutating func withInverse<Result>(_ body: (inout Inverse) -> Result) -> Result { body(&inverse) }

    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome {
        // The matrix form plans no Woodbury inverse: it has no factor.
        try inverse.stageRefresh(gfim: statisticsStaged ? gfim.staged : gfim.current, factor: nil, damping: damping)
    }

    /// `D = F̂⁻¹·G` or `G·F̂⁻¹` for the plan's side.
    mutating func apply(_ gradient: Matrix<Scalar>, into direction: inout Matrix<Scalar>, slot: InverseSlot) {
        inverse.apply(gradient, side: plan.side, into: &direction, slot: slot)
    }

    /// `D = F̂⁻¹·M′` (or `M′·F̂⁻¹`) of the staged momentum.
    mutating func applyToStagedMomentum(into direction: inout Matrix<Scalar>, slot: InverseSlot) {
        let staged = momentum.staged
        apply(staged, into: &direction, slot: slot)
    }

    /// Puts the staged momentum and statistics in use (the inverse has its own commit).
    mutating func commitMomentum() {
        momentum.commit()
        if statisticsStaged { gfim.commit() }
        statisticsStaged = false
    }
}

extension MatrixCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(momentum.current)
        gfim.current.encode(to: &writer)
        inverse.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        try reader.read(into: &momentum.current, what: "matrix momentum")
        try gfim.current.restore(from: &reader)
        try inverse.restore(from: &reader)
    }
}
