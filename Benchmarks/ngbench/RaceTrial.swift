import Foundation
import NGKernels
import NGPlus
import NGTrain

/// The two tracks of the race (AlgoPerf's): every optimizer with one configuration for all
/// workloads, or tuned per workload by a fixed number of draws from a declared search space.
enum RaceTrack: String, CaseIterable, Codable, Sendable {
    case selfTuning = "self-tuning"
    case external
}

/// One trial of the race — a workload, an optimizer, its hyper-parameters and a seed — and
/// what it came to, as the race's file of trials stores it (one JSON object a line).
struct RaceTrial: Codable, Sendable {
    let track: RaceTrack
    let workload: RaceWorkload
    let entrant: RaceEntrant
    /// The draw of the external track's search (0 on the self-tuning track).
    let draw: Int
    let seed: UInt64
    let hyperparameters: RaceHyperparameters
    let plan: RaceWorkload.Plan
    /// Every epoch trained: the last is the one that met the target, or the budget's last.
    var points: [RacePoint] = []
    /// The training met a non-finite value (the optimizers refuse a step that does) and ended.
    var diverged = false

    /// What identifies the trial in the file: a race resumed skips the trials it finds there.
    var key: String { "\(track.rawValue)/\(workload.rawValue)/\(entrant.rawValue)/\(draw)/\(seed)" }

    /// The first epoch that met the target, or nil.
    var reached: RacePoint? { points.first { workload.meets($0.metric, plan.target) } }

    /// Trains the trial's model from its seed until the target or the end of the budget.
    /// `progress(step, steps)` is called after every training step.
    mutating func run(data: RaceData, progress: @escaping (Int, Int) -> Void) throws {
        do {
            points = try train(data: data, progress: progress)
        } catch let error as NGError {
            guard case .nonFinite = error else { throw error }
            diverged = true
        }
    }

    func train(data: RaceData, progress: @escaping (Int, Int) -> Void) throws -> [RacePoint] {
        let settings = TrainingSettings(
            learningRate: hyperparameters.learningRate, damping: hyperparameters.damping,
            inverseInterval: hyperparameters.inverseInterval, learningRatePolicy: .cosine, ngplusBase: entrant.base,
            graft: entrant.graft, dampingForm: entrant.dampingForm)
        let (workload, plan) = (workload, plan)
        switch workload {
        case .mlp, .cnn, .resnet, .dlrm:
            let (train, test) = workload == .dlrm ? try data.clickLog().split : try data.fashionMNIST()
            let slice = train.prefix(plan.trainLimit)
            let run = try TrainingRun(
                model: ModelName(rawValue: workload.rawValue)!, optimizer: entrant.optimizer, settings: settings, seed: seed,
                validation: plan.validation
            ).run(
                train: slice, test: test.prefix(plan.testLimit), epochs: plan.epochs, progress: progress,
                until: { workload.meets($0.testAccuracy, plan.target) })
            return run.records.map { RacePoint(epoch: $0.epoch, steps: $0.steps, seconds: $0.seconds, metric: $0.testAccuracy) }
        case .transformer:
            let shape = RaceWorkload.languageModelShape(quick: data.quick)
            let run = try LanguageModelRun(
                optimizer: entrant.optimizer, settings: settings, shape: shape.model, sequences: shape.sequences,
                stepsPerEpoch: shape.stepsPerEpoch, seed: seed, communicator: nil
            ).run(
                corpus: try data.fortunes(), epochs: plan.epochs, progress: progress,
                until: { workload.meets($0.validationBitsPerByte, plan.target) })
            return run.records.map {
                RacePoint(epoch: $0.epoch, steps: $0.epoch * shape.stepsPerEpoch, seconds: $0.seconds, metric: $0.validationBitsPerByte)
            }
        case .schnet:
            let (train, test) = try data.clusters()
            let molecules = 32
            let run = try SchNetRun(
                optimizer: entrant.optimizer, settings: settings, molecules: molecules, seed: seed, validation: plan.validation
            ).run(
                train: train, test: test, epochs: plan.epochs, progress: progress,
                until: { workload.meets($0.testMAE, plan.target) })
            return run.records.map { RacePoint(epoch: $0.epoch, steps: $0.steps, seconds: $0.seconds, metric: $0.testMAE) }
        }
    }
}

extension RaceWorkload {
    /// The race's language model: 2 blocks of width 64 over 64 bytes of context, 16 sequences
    /// and 10 steps an epoch (quick: 1 block of width 32 over 32 bytes, 8 sequences, 20 steps).
    /// Its "epoch" is only the interval between validations (the windows are drawn at random
    /// places every step): 10 steps, a tenth of the ~100 steps AdamW takes to the target, so
    /// that the time to target is resolved to about 10%; a validation (64 windows, 4 forward
    /// passes) is not counted in the time.
    static func languageModelShape(
        quick: Bool
    ) -> (model: (context: Int, width: Int, heads: Int, blocks: Int), sequences: Int, stepsPerEpoch: Int) {
        if quick { return ((context: 32, width: 32, heads: 2, blocks: 1), 8, 20) }
        return ((context: 64, width: 64, heads: 4, blocks: 2), 16, 10)
    }
}

extension ClickLog {
    /// The log's training and test clicks.
    var split: (train: Dataset, test: Dataset) { (train, test) }
}
