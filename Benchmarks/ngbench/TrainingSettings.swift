import ArgumentParser
import NGPlus
import NGTrain

/// The optimizers `ngbench train` compares.
enum OptimizerName: String, CaseIterable, Sendable {
    case ngplus, sgd, adam, kfac, muon, shampoo
}

/// The first-order step NG+ takes along its direction (`NGPlusConfiguration.adam`).
enum NGPlusBase: String, CaseIterable, Sendable {
    /// Momentum SGD, the authors' default.
    case sgd
    /// Adam (AdamW on the language model), as the authors did for SchNet.
    case adam
}

/// The models `ngbench train` trains.
enum ModelName: String, CaseIterable, Sendable {
    case mlp, cnn, resnet, transformer, dlrm, schnet

    /// The classifier of this name, made from `seed` (not the transformer and SchNet, which
    /// have runners of their own).
    func classifier(seed: UInt64) throws -> Model<Float> {
        switch self {
        case .mlp: try .mlp(seed: seed)
        case .cnn: try .cnn(seed: seed)
        case .dlrm: try .dlrm(seed: seed)
        case .resnet, .transformer, .schnet: try .resnet(seed: seed)
        }
    }

    /// The generated click log of `--model dlrm` (`ClickLog`, `Model.dlrm`'s default sizes: 8
    /// tables of 10⁵ rows, bags of 2, width 16), the same for every run and seed.
    static func clickLog() throws -> ClickLog {
        try ClickLog.generate(trainCount: 300_000, testCount: 20_000, zipfExponent: 1.2, seed: 2026)
    }

    /// The test accuracy the summary times by default: 88% for the MLP, 91% for the CNN and the
    /// ResNet, 69% of clicks called right for the DLRM (the click rate alone calls 66.8%; its
    /// log-loss and AUC are in a table of their own).
    var defaultTarget: Double {
        switch self {
        case .mlp: 0.88
        case .dlrm: 0.69
        case .cnn, .resnet, .transformer: 0.91
        // SchNet's is a test error (ε an atom) to fall to, the race's.
        case .schnet: 0.06
        }
    }
}

/// How `ngbench train` varies every optimizer's learning rate over a run.
enum LearningRatePolicy: String, CaseIterable, Sendable {
    /// The learning rate at every step (the grid's setting).
    case constant
    /// Cosine decay from the learning rate to 0 over the run's steps.
    case cosine

    /// The schedule of learning rate `lr` over a run of `steps` steps.
    func schedule(_ lr: Double, steps: Int) -> Schedule {
        switch self {
        case .constant: .constant(lr)
        case .cosine: .cosine(initial: lr, final: 0, steps: max(steps, 1))
        }
    }
}

/// One optimizer's hyper-parameters for a training run, with per-optimizer defaults (the grid
/// they were chosen from is docs/measurements/mlp-grid-2026-11-24.md); any field set
/// overrides the default.
struct TrainingSettings: Sendable, Equatable {
    var learningRate: Double?
    var damping: Double?
    var inverseInterval: Int?
    var batchSize: Int
    /// NG+ options beyond the paper (nil: the defaults below).
    var side: SideChoice?
    var runningAverage: Double?
    var statisticsInterval: Int?
    /// NG+ block size of a block-diagonal GFIM (nil: 1024).
    var blockSize: Int?
    /// NG+ inversion method (nil: the plan's automatic choice).
    var method: CurvatureMethod?
    /// The learning rate over the run, for every optimizer alike.
    var learningRatePolicy: LearningRatePolicy
    /// NG+'s base (momentum SGD unless set).
    var ngplusBase: NGPlusBase
    /// Crops and flips of the training images each epoch (nil: none).
    var augmentation: ImageAugmentation?
    /// NG+'s step size: its direction's own (the authors') or grafted from the gradient's.
    var graft: StepGraft
    /// NG+'s damping form (nil: the authors' per layer kind).
    var dampingForm: DampingForm?

    init(
        learningRate: Double? = nil, damping: Double? = nil, inverseInterval: Int? = nil, batchSize: Int = 128,
        side: SideChoice? = nil, runningAverage: Double? = nil, statisticsInterval: Int? = nil,
        blockSize: Int? = nil, method: CurvatureMethod? = nil, learningRatePolicy: LearningRatePolicy = .constant,
        ngplusBase: NGPlusBase = .sgd, augmentation: ImageAugmentation? = nil, graft: StepGraft = .none,
        dampingForm: DampingForm? = nil
    ) {
        self.learningRate = learningRate
        self.damping = damping
        self.inverseInterval = inverseInterval
        self.batchSize = batchSize
        self.side = side
        self.runningAverage = runningAverage
        self.statisticsInterval = statisticsInterval
        self.blockSize = blockSize
        self.method = method
        self.learningRatePolicy = learningRatePolicy
        self.ngplusBase = ngplusBase
        self.augmentation = augmentation
        self.graft = graft
        self.dampingForm = dampingForm
    }

    /// The name an optimizer's records carry: NG+ on the Adam base is `ngplus-adam`, NG+ with
    /// its step grafted on the gradient's `ngplus-graft` (`ngplus-adam-graft` on both), on
    /// Adam's step `ngplus-adamgraft`.
    func recordName(_ optimizer: OptimizerName) -> String {
        guard optimizer == .ngplus else { return optimizer.rawValue }
        let graftName = switch graft {
        case .none: ""
        case .gradientNorm: "-graft"
        case .adamNorm: "-adamgraft"
        }
        return "ngplus" + (ngplusBase == .adam ? "-adam" : "") + graftName
    }

    /// Throws a `ValidationError` naming the flag of a value out of range.
    func validate() throws(ValidationError) {
        func fail(_ flag: String, _ reason: String) -> ValidationError {
            ValidationError("\(flag) \(reason)")
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw fail("--lr", "must be positive, got \(learningRate)") }
        if let damping, !(damping > 0 && damping.isFinite) { throw fail("--damping", "must be positive, got \(damping)") }
        if let inverseInterval, inverseInterval < 1 { throw fail("--inverse-interval", "must be at least 1, got \(inverseInterval)") }
        if batchSize < 1 { throw fail("--batch", "must be at least 1, got \(batchSize)") }
        if let runningAverage, !(runningAverage > 0 && runningAverage <= 1) {
            throw fail("--running-average", "must be in (0, 1], got \(runningAverage)")
        }
        if let statisticsInterval, statisticsInterval < 1 { throw fail("--statistics-interval", "must be at least 1, got \(statisticsInterval)") }
        if let blockSize, blockSize < 1 { throw fail("--block-size", "must be at least 1, got \(blockSize)") }
    }

    /// The defaults of `optimizer`: the best test accuracy after 3 epochs of the MLP, batch 128,
    /// seed 1, in the grid of docs/measurements/mlp-grid-2026-11-24.md (SGD lr {0.01, 0.05,
    /// 0.1}; Adam lr {3e-4, 1e-3, 3e-3}; NG+ and K-FAC lr {0.02, 0.05, 0.1} × λ {0.01, 0.1, 1},
    /// k = 10; then NG+'s side and running average). NG+ trains on the right side: its GFIM `E[‖dy‖²·x̃x̃ᵀ]` sees the input
    /// covariance, which the left one (the automatic, cheaper choice) does not.
    static func defaults(_ optimizer: OptimizerName) -> (learningRate: Double, damping: Double, inverseInterval: Int, side: SideChoice) {
        switch optimizer {
        case .sgd: (0.05, 0, 1, .automatic)
        case .adam: (3e-4, 0, 1, .automatic)
        case .ngplus: (0.1, 1, 10, .right)
        case .kfac: (0.02, 0.1, 10, .automatic)
        // The references' defaults, not from the grid: Muon's 0.02, Shampoo's Adam-sized 1e-3.
        case .muon: (0.02, 0, 1, .automatic)
        case .shampoo: (1e-3, 0, 10, .automatic)
        }
    }
}
