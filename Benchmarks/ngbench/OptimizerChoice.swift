import NGPlus

/// What a run does with the optimizer it is handed: one generic method, since Swift has no
/// generic closures.
protocol OptimizerUser {
    associatedtype Result
    func train<O: StatisticsSharing>(with optimizer: O) throws -> Result where O.Scalar == Float
}

/// One optimizer of `ngbench train`, built the same way for every workload from the run's
/// settings and what the workload chose (its schedule, its defaults, its Adam).
struct OptimizerChoice {
    let name: OptimizerName
    let settings: TrainingSettings
    /// The learning rate over the run.
    let schedule: Schedule
    /// λ and k of NG+, K-FAC and Shampoo, resolved.
    let damping: Double
    let inverseInterval: Int
    /// NG+'s side, resolved.
    let side: SideChoice
    /// The Adam baseline's settings, and NG+'s Adam base.
    let adam: AdamSettings
    /// NG+'s and K-FAC's planned batch: the rows a step's layers see.
    let batchRows: Int
    /// Muon's step of vectors and tables (AdamW at 3e-4 unless the workload says otherwise).
    var muonAdam = AdamSettings(learningRate: .constant(3e-4), weightDecayMode: .decoupled)
    /// Shampoo's step of vectors and tables (ShampooSettings' own unless set), and its
    /// decoupled weight decay of matrix parameters.
    var shampooAdam: AdamSettings?
    var shampooWeightDecay = 0.0

    /// Builds the optimizer and hands it to `user`.
    func build<U: OptimizerUser>(for user: U) throws -> U.Result {
        let sgd = SGDSettings(learningRate: schedule, momentum: 0.9, weightDecay: 1e-4)
        switch name {
        case .sgd:
            return try user.train(with: SGDOptimizer<Float>(settings: sgd))
        case .adam:
            return try user.train(with: AdamOptimizer<Float>(settings: adam))
        case .ngplus:
            return try user.train(with: NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                sgd: sgd, damping: .constant(damping), dampingForm: settings.dampingForm, inverseInterval: inverseInterval,
                statisticsInterval: settings.statisticsInterval, runningAverage: settings.runningAverage ?? 1, side: side,
                method: settings.method, blockSize: settings.blockSize ?? 1024, batchSize: batchRows, fusedApply: true,
                adam: settings.ngplusBase == .adam ? adam : nil, graft: settings.graft)))
        case .kfac:
            return try user.train(with: KFACOptimizer<Float>(configuration: KFACConfiguration(
                sgd: sgd, damping: .constant(damping), inverseInterval: inverseInterval,
                statisticsInterval: settings.statisticsInterval, batchSize: batchRows)))
        case .muon:
            return try user.train(with: MuonOptimizer<Float>(settings: MuonSettings(learningRate: schedule, adam: muonAdam)))
        case .shampoo:
            var shampoo = ShampooSettings(
                learningRate: schedule, inverseInterval: inverseInterval, blockSize: settings.blockSize ?? 1024,
                weightDecay: shampooWeightDecay)
            if let shampooAdam { shampoo.adam = shampooAdam }
            return try user.train(with: ShampooOptimizer<Float>(settings: shampoo))
        }
    }
}
