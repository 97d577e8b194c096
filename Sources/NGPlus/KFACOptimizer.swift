/// Settings of the K-FAC baseline, with the same meaning as NG+'s where they share a name.
public struct KFACConfiguration: OptimizerConfiguration, Equatable {
    /// The SGD step after preconditioning.
    public var sgd: SGDSettings
    /// λ by step; each factor is damped by `√λ·I` (the π-free Tikhonov split).
    public var damping: Schedule
    /// Factor inverses are refreshed every k steps.
    public var inverseInterval: Int
    /// Factor statistics every this many steps; nil: at refresh steps only, as NG+.
    public var statisticsInterval: Int?
    /// α of `F ← (1−α)·F + α·F_new` for both factors.
    public var runningAverage: Double
    /// The rows a dense layer's inputs have each step (a sequence model's tokens, not its
    /// sequences): the workspaces are first made for it, and a dense layer's input factor is
    /// kept low-rank only when twice this is below its order (`KFACFlops.inputMethod`). More
    /// rows than planned are still exact, at a higher cost.
    public var batchSize: Int
    /// Retries of a failed factorization with a larger shift, as `NGPlusConfiguration.maxRetries`.
    public var maxRetries: Int
    /// κ of the trust region on each layer's step: the direction D of a dense or conv2d layer
    /// is scaled by `min(1, √(κ / (lr²·|⟨D, ∇W̃⟩|)))`, kfac-pytorch's `kl_clip` taken per
    /// layer (docs/OPTIMIZERS.md, "K-FAC's trust region"); 10⁻³ as there. nil: none, as a
    /// configuration saved before the setting existed decodes.
    public var klClip: Double?

    /// Every setting at its default.
    public static var defaults: Self { Self() }

    public init(
        sgd: SGDSettings = SGDSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4),
        damping: Schedule = 1e-3, inverseInterval: Int = 10, statisticsInterval: Int? = nil,
        runningAverage: Double = 1, batchSize: Int = 128, maxRetries: Int = 6, klClip: Double? = 1e-3
    ) {
        self.sgd = sgd
        self.damping = damping
        self.inverseInterval = inverseInterval
        self.statisticsInterval = statisticsInterval
        self.runningAverage = runningAverage
        self.batchSize = batchSize
        self.maxRetries = maxRetries
        self.klClip = klClip
    }

    /// Throws `invalidArgument` (or `nonPositiveDamping`) for a setting outside its range, with
    /// NG+'s checks of the settings they share.
    public func validate(_ operation: NGError.Operation) throws(NGError) {
        try sgd.validate(operation)
        try NGPlusConfiguration.validateRefreshes(
            damping: damping, inverseInterval: inverseInterval, statisticsInterval: statisticsInterval,
            runningAverage: runningAverage, batchSize: batchSize, maxRetries: maxRetries, operation)
        try operation.requirePositive(klClip, "klClip")
    }
}

/// The K-FAC baseline on the same kernels as NG+: per dense or conv2d layer the Kronecker
/// factors of `KFACFactorBuilder`, damped Cholesky inverses refreshed every k steps, and the
/// direction `(G + √λ·I)⁻¹·∇W̃·(A + √λ·I)⁻¹`, followed by the same SGD step as NG+. An
/// embedding table's output factor is NG+'s right-side GFIM and its input factor the diagonal
/// of row frequencies. Matrix and vector parameters, which have no factors, take the plain SGD
/// step.
public typealias KFACOptimizer<Scalar: BLASScalar> = LayerwiseOptimizer<KFACLayer<Scalar>>

/// K-FAC's record of one layer.
public typealias KFACLayer<Scalar: BLASScalar> = CurvatureLayer<Scalar, KFACConfiguration>

extension KFACConfiguration: CurvatureSettings {
    public static var stateKind: String { "KFACOptimizer" }
    /// Format 5 keeps a dense layer's input factor in low-rank form where that is cheaper.
    public static var oldestStateVersion: Int { 5 }

    public func curvature(for spec: LayerSpec, _ operation: NGError.Operation) throws(NGError) -> CurvatureChoice {
        switch spec {
        case .dense, .conv2d:
            // Low-rank only where A is one batch's Gram: α = 1, statistics at refresh steps.
            let statistics = statisticsInterval(for: spec)
            let method = KFACFlops.inputMethod(
                for: spec, batch: batchSize, lowRankAllowed: runningAverage == 1 && statistics == inverseInterval,
                inverseInterval: inverseInterval, statisticsInterval: statistics)
            return .kroneckerFactors(batch: batchSize, maxRetries: maxRetries, inputMethod: method)
        case let .embedding(_, width):
            let request = PlanRequest(
                side: .right, method: .explicitInverse, blockSize: width, batch: batchSize,
                inverseInterval: inverseInterval, statisticsInterval: statisticsInterval(for: spec),
                woodburyAllowed: false, fused: false)
            return .embedding(
                try request.plan(for: spec, operation: operation), inputFactor: .rowFrequencies,
                runningAverage: runningAverage, maxRetries: maxRetries)
        case .matrix, .vector:
            return .identity
        }
    }

    /// The configured interval; nil: at refresh steps.
    public func statisticsInterval(for spec: LayerSpec) -> Int { statisticsInterval ?? inverseInterval }

    /// Every layer refreshes at the same steps.
    public func refreshOffset(ofLayer index: Int) -> Int { 0 }

    /// Each factor damped by `√λ·I` (the π-free Tikhonov split).
    public func dampingRule(for spec: LayerSpec, step: Int) -> DampingRule { .squareRoot(damping.value(at: step)) }

    /// Momentum SGD.
    public var baseRule: PreconditionedStepSettings { .momentumSGD(sgd) }
}
