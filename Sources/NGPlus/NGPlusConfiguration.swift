/// How a damping value becomes a diagonal shift (docs/ALGORITHM.md §3), without the value.
public enum DampingForm: String, Sendable, Codable, CaseIterable {
    /// `s = λ`.
    case plain
    /// `s = √λ`: the reference preconditioner form.
    case squareRoot
    /// `s = √(min(λ, max(max|F|, 1e-3)))`: the reference optimizer form.
    case clampedSquareRoot
    /// `s = λ·tr(F)/n`: relative to the mean eigenvalue of F.
    case relative

    /// The rule for damping value λ.
    public func rule(_ lambda: Double) -> DampingRule {
        switch self {
        case .plain: .plain(lambda)
        case .squareRoot: .squareRoot(lambda)
        case .clampedSquareRoot: .clampedSquareRoot(lambda)
        case .relative: .relative(lambda)
        }
    }
}

/// Every setting of `NGPlusOptimizer`. The hyper-parameters of `NGPlusConfiguration()` are
/// the authors' (docs/ALGORITHM.md §5: lr 0.1, momentum 0.9, weight decay 1e-4, damping 1e-3 in
/// their forms, k = 10, β 0.99, ε 1e-8, blocks of 1024); three choices differ from their code,
/// each because it is cheaper or more conventional at the same hyper-parameters:
/// - `side: .automatic` takes the side with the fewer flops per step (the right side for a
///   layer with more outputs than inputs), where the authors always take the left;
/// - `method: nil` takes a Woodbury inverse where it is exact and cheaper;
/// - `matrixMomentumStart: .zero` starts the matrix form's momentum at zero (PyTorch's SGD
///   convention), where the authors' starts it at the first gradient.
///
/// `NGPlusConfiguration.authors` is exactly the authors' algorithm.
public struct NGPlusConfiguration: OptimizerConfiguration, Equatable {
    /// The SGD step after preconditioning: learning rate (0.1), momentum (0.9), Nesterov,
    /// weight decay (1e-4, weights only, L2), update-norm clipping.
    public var sgd: SGDSettings
    /// The damping λ by step (1e-3). `.step(initial:factor:every:)` gives the reference
    /// schedule `λ₀·ρ^(epoch/10)`.
    public var damping: Schedule
    /// The damping form; nil: the reference's, `squareRoot` for dense and conv layers,
    /// `clampedSquareRoot` for matrix parameters.
    public var dampingForm: DampingForm?
    /// k: the damped inverse is refreshed every k steps of a layer (10).
    public var inverseInterval: Int
    /// Statistics every this many steps; nil: the reference's, only at refresh steps
    /// (for matrix parameters: every step, `cov_update_freq` = 1). Must divide into
    /// `inverseInterval` steps evenly.
    public var statisticsInterval: Int?
    /// α: `F ← (1−α)·F + α·F_new` at each statistics step (1: no averaging).
    public var runningAverage: Double
    /// β of the matrix form: `F ← β·F + (1−β)·M·Mᵀ` (0.99).
    public var matrixBeta: Double
    /// ε of the matrix form: `F₀ = ε·I` (1e-8).
    public var matrixEpsilon: Double
    /// How the matrix form's momentum buffer starts (`zero`, PyTorch's first SGD step; the
    /// authors' optimizer uses `firstGradient`).
    public var matrixMomentumStart: MatrixMomentumStart
    /// Spread the refreshes of different layers over the k steps: layer j refreshes at steps
    /// t with `t ≡ j (mod k)` (and at its first step), so no step carries every inversion.
    public var staggered: Bool
    /// Side of each layer's GFIM (automatic: the fewest flops, see `CurvaturePlan`).
    public var side: SideChoice
    /// Inversion method; nil: automatic (explicit Cholesky inverse, or Woodbury where it is
    /// valid and cheaper).
    public var method: CurvatureMethod?
    /// Diagonal blocks of at most this order (1024).
    public var blockSize: Int
    /// The batch size the plan is made for — the rows a dense layer's inputs have each step (a
    /// sequence model's tokens, not its sequences) — and the initial workspace size (128).
    public var batchSize: Int
    /// Plan for the fused dense step (`step(_:weight:inputs:outputGradients:)`).
    public var fusedApply: Bool
    /// Retries of a failed factorization with a larger shift (6): ×10 each, never below the
    /// GFIM's rounding level; a Float optimizer then tries the same shifts in Double.
    public var maxRetries: Int
    /// When set, the preconditioned direction goes into Adam with these settings (learning
    /// rate, betas, ε, weight decay and its mode, clipping) instead of momentum SGD — the base
    /// the authors paired NG+ with for SchNet — and `sgd` is unused; nil (the default): momentum
    /// SGD. Every layer kind takes it (vectors and LayerNorm scales too); the matrix form then
    /// keeps no momentum of its own, Adam's moments take its place.
    public var adam: AdamSettings?
    /// Where the step's size comes from: `.none` (the authors': the preconditioned
    /// direction's own) or `.gradientNorm` (per layer, the base rule's unpreconditioned step's:
    /// NG+ at the base optimizer's learning rate, see `StepGraft`). Configurations saved
    /// before it existed load with `.none`.
    @DecodedWithDefault public var graft: StepGraft

    /// Every setting at its default.
    public static var defaults: Self { Self() }

    public init(
        sgd: SGDSettings = SGDSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4),
        damping: Schedule = 1e-3, dampingForm: DampingForm? = nil, inverseInterval: Int = 10,
        statisticsInterval: Int? = nil, runningAverage: Double = 1, matrixBeta: Double = 0.99,
        matrixEpsilon: Double = 1e-8, matrixMomentumStart: MatrixMomentumStart = .zero, staggered: Bool = false, side: SideChoice = .automatic,
        method: CurvatureMethod? = nil, blockSize: Int = 1024, batchSize: Int = 128,
        fusedApply: Bool = false, maxRetries: Int = 6, adam: AdamSettings? = nil, graft: StepGraft = .none
    ) {
        self.sgd = sgd
        self.damping = damping
        self.dampingForm = dampingForm
        self.inverseInterval = inverseInterval
        self.statisticsInterval = statisticsInterval
        self.runningAverage = runningAverage
        self.matrixBeta = matrixBeta
        self.matrixEpsilon = matrixEpsilon
        self.matrixMomentumStart = matrixMomentumStart
        self.staggered = staggered
        self.side = side
        self.method = method
        self.blockSize = blockSize
        self.batchSize = batchSize
        self.fusedApply = fusedApply
        self.maxRetries = maxRetries
        self.adam = adam
        self.graft = graft
    }

    /// The authors' algorithm exactly: the left-side GFIM for every layer, the explicit
    /// (Cholesky) inverse, their damping forms, their momentum start, every other setting at
    /// its default (which is theirs).
    public static var authors: NGPlusConfiguration {
        NGPlusConfiguration(matrixMomentumStart: .firstGradient, side: .left, method: .explicitInverse)
    }

    /// Throws `invalidArgument` (or `nonPositiveDamping`) for a setting outside its range.
    public func validate(_ operation: NGError.Operation) throws(NGError) {
        try sgd.validate(operation)
        try adam?.validate(operation)
        try Self.validateRefreshes(
            damping: damping, inverseInterval: inverseInterval, statisticsInterval: statisticsInterval,
            runningAverage: runningAverage, batchSize: batchSize, maxRetries: maxRetries, operation)
        try operation.requireFraction(matrixBeta, "matrixBeta")
        try operation.requirePositive(matrixEpsilon, "matrixEpsilon")
        try operation.require(blockSize >= 1, "blockSize", "must be at least 1, got \(blockSize)")
    }

    /// The checks of the settings NG+ and K-FAC share: λ's schedule (positive at the first
    /// step), the refresh and statistics intervals (the latter dividing the former), the
    /// running average in (0, 1], the planned batch and the retries.
    static func validateRefreshes(
        damping: Schedule, inverseInterval: Int, statisticsInterval: Int?, runningAverage: Double, batchSize: Int,
        maxRetries: Int, _ operation: NGError.Operation
    ) throws(NGError) {
        try damping.validate(operation, "damping")
        if damping.value(at: 0) <= 0 { throw .nonPositiveDamping(operation: operation, value: damping.value(at: 0)) }
        try operation.require(inverseInterval >= 1, "inverseInterval", "must be at least 1, got \(inverseInterval)")
        if let statisticsInterval {
            try operation.require(
                statisticsInterval >= 1 && inverseInterval % statisticsInterval == 0, "statisticsInterval",
                "must be at least 1 and divide inverseInterval \(inverseInterval), got \(statisticsInterval)")
        }
        try operation.require(runningAverage > 0 && runningAverage <= 1, "runningAverage", "must be in (0, 1], got \(runningAverage)")
        try operation.require(batchSize >= 1, "batchSize", "must be at least 1, got \(batchSize)")
        try operation.require(maxRetries >= 0, "maxRetries", "must be non-negative, got \(maxRetries)")
    }
}
