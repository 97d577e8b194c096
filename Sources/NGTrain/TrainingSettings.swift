import NGPlus

/// The optimizers `ngbench train` compares.
public enum OptimizerName: String, CaseIterable, Sendable {
    case ngplus, sgd, adam, kfac
}

/// The models `ngbench train` trains.
public enum ModelName: String, CaseIterable, Sendable {
    case mlp, cnn
}

/// One optimizer's hyper-parameters for a training run, with per-optimizer defaults (see the
/// README for the grid they were chosen from); any field set overrides the default.
public struct TrainingSettings: Sendable, Equatable {
    public var learningRate: Double?
    public var damping: Double?
    public var inverseInterval: Int?
    public var batchSize: Int

    public init(learningRate: Double? = nil, damping: Double? = nil, inverseInterval: Int? = nil, batchSize: Int = 128) {
        self.learningRate = learningRate
        self.damping = damping
        self.inverseInterval = inverseInterval
        self.batchSize = batchSize
    }

    /// Throws `invalidArgument` for a value out of range.
    public func validate() throws(NGError) {
        func fail(_ argument: String, _ reason: String) -> NGError {
            .invalidArgument(operation: "train", argument: argument, reason: reason)
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw fail("--lr", "must be positive, got \(learningRate)") }
        if let damping, !(damping > 0 && damping.isFinite) { throw fail("--damping", "must be positive, got \(damping)") }
        if let inverseInterval, inverseInterval < 1 { throw fail("--inverse-interval", "must be at least 1, got \(inverseInterval)") }
        if batchSize < 1 { throw fail("--batch", "must be at least 1, got \(batchSize)") }
    }

    /// The defaults of `optimizer` on `model`: the best of the README's grid.
    public static func defaults(_ optimizer: OptimizerName, _ model: ModelName) -> (learningRate: Double, damping: Double, inverseInterval: Int) {
        switch optimizer {
        case .sgd: (0.05, 0, 1)
        case .adam: (1e-3, 0, 1)
        case .ngplus: (0.05, 0.1, 10)
        case .kfac: (0.05, 0.1, 10)
        }
    }
}
