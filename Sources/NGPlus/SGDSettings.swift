/// How weight decay enters an update.
public enum WeightDecayMode: String, Sendable, Codable, CaseIterable {
    /// Added to the (preconditioned) direction before momentum, as PyTorch's SGD does:
    /// `d ← d + wd·W`.
    case l2
    /// Applied to the weights directly, apart from the direction (AdamW-style):
    /// `W ← W − lr·wd·W`.
    case decoupled
}

/// The first-order step that follows preconditioning (docs/ALGORITHM.md §5): SGD with heavy-ball
/// or Nesterov momentum, weight decay on weights only (never on a bias column), and an
/// optional bound on the norm of the update.
public struct SGDSettings: Sendable, Equatable, Codable {
    /// The learning rate, by step.
    public var learningRate: Schedule
    /// The momentum μ (0: none).
    public var momentum: Double
    /// Nesterov momentum instead of heavy-ball.
    public var nesterov: Bool
    /// The weight decay wd (0: none).
    public var weightDecay: Double
    /// How the weight decay is applied.
    public var weightDecayMode: WeightDecayMode
    /// When set, an update `lr·d` whose Frobenius norm exceeds this is scaled down to it.
    public var maxUpdateNorm: Double?

    public init(
        learningRate: Schedule = 0.1, momentum: Double = 0.9, nesterov: Bool = false,
        weightDecay: Double = 0, weightDecayMode: WeightDecayMode = .l2, maxUpdateNorm: Double? = nil
    ) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.weightDecayMode = weightDecayMode
        self.maxUpdateNorm = maxUpdateNorm
    }

    /// Throws `invalidArgument` for a value outside its range.
    public func validate(_ operation: NGError.Operation) throws(NGError) {
        try learningRate.validate(operation, "learningRate")
        try operation.requireFraction(momentum, "momentum")
        try operation.requireNonNegative(weightDecay, "weightDecay")
        try operation.requirePositive(maxUpdateNorm, "maxUpdateNorm")
    }
}
