import ArgumentParser
import Foundation
import NGPlus
import NGTrain

/// One workload of `ngbench race`: a model, the slice of its data the race trains on, its
/// validation target and its budget of epochs. Sizes and targets: docs/RACE.md.
enum RaceWorkload: String, CaseIterable, Codable, Sendable, ExpressibleByArgument {
    case mlp, cnn, resnet, transformer, dlrm, schnet

    /// What a workload trains on and towards.
    struct Plan: Codable, Equatable, Sendable {
        /// The budget: a trial that has not met the target after these epochs did not reach it.
        let epochs: Int
        /// Training examples (the first of the set), or nil for all.
        let trainLimit: Int?
        /// Test examples evaluated at every validation (the first of the set), or nil for all.
        let testLimit: Int?
        /// The validation figure to reach.
        let target: Double
        /// Validations an epoch; nil: one, after its last step (the language model, whose
        /// "epoch" is its interval between validations, and trials stored before the field).
        var validationsPerEpoch: Int? = nil

        /// The trainers' schedule of validations.
        var validation: ValidationSchedule {
            get throws { try ValidationSchedule(perEpoch: validationsPerEpoch ?? 1) }
        }
    }

    /// The validation figure: test accuracy (higher is better), the language model's
    /// validation bits per byte or SchNet's test error per atom (lower is better).
    var metric: (name: String, higherIsBetter: Bool) {
        switch self {
        case .mlp, .cnn, .resnet, .dlrm: ("test accuracy", true)
        case .transformer: ("validation bits/byte", false)
        case .schnet: ("test MAE ε/atom", false)
        }
    }

    /// The full race's plan, or `--quick`'s (small slices and loose targets: a few minutes for
    /// every workload and optimizer, a check that the race runs, not a result). A workload
    /// validates about every tenth of the steps the fastest take to its target: ten times an
    /// epoch, the ResNet (46 steps an epoch, 1,000 test images) five; the language model every
    /// 10 steps, its "epoch" (docs/RACE.md).
    func plan(quick: Bool) -> Plan {
        var plan = budget(quick: quick)
        switch self {
        case .mlp, .cnn, .dlrm, .schnet: plan.validationsPerEpoch = 10
        case .resnet: plan.validationsPerEpoch = 5
        case .transformer: break
        }
        return plan
    }

    /// The slice, budget and target of `plan(quick:)`.
    private func budget(quick: Bool) -> Plan {
        switch (self, quick) {
        case (.mlp, false): Plan(epochs: 5, trainLimit: nil, testLimit: nil, target: 0.87)
        case (.mlp, true): Plan(epochs: 2, trainLimit: 6_000, testLimit: 1_000, target: 0.78)
        case (.cnn, false): Plan(epochs: 4, trainLimit: 12_000, testLimit: 2_000, target: 0.87)
        case (.cnn, true): Plan(epochs: 1, trainLimit: 1_024, testLimit: 500, target: 0.6)
        case (.resnet, false): Plan(epochs: 3, trainLimit: 6_000, testLimit: 1_000, target: 0.83)
        case (.resnet, true): Plan(epochs: 1, trainLimit: 256, testLimit: 256, target: 0.4)
        case (.transformer, false): Plan(epochs: 40, trainLimit: nil, testLimit: nil, target: 4.1)
        case (.transformer, true): Plan(epochs: 2, trainLimit: nil, testLimit: nil, target: 6.0)
        case (.dlrm, false): Plan(epochs: 3, trainLimit: 100_000, testLimit: 20_000, target: 0.675)
        case (.dlrm, true): Plan(epochs: 1, trainLimit: 20_000, testLimit: 5_000, target: 0.66)
        case (.schnet, false): Plan(epochs: 5, trainLimit: nil, testLimit: nil, target: 0.06)
        case (.schnet, true): Plan(epochs: 2, trainLimit: nil, testLimit: nil, target: 0.2)
        }
    }

    /// Whether `value` meets `target`.
    func meets(_ value: Double, _ target: Double) -> Bool {
        metric.higherIsBetter ? value >= target : value <= target
    }
}

/// One validation of a trial: the epoch it was made in, the steps and training time before it,
/// and its figure.
struct RacePoint: Codable, Equatable, Sendable {
    let epoch: Int
    let steps: Int
    /// Cumulative training seconds: forward, backward and optimizer steps (no evaluation).
    let seconds: Double
    let metric: Double
}

/// The data of every workload, loaded once for the whole race.
final class RaceData {
    let quick: Bool
    private var images: (train: Dataset, test: Dataset)?
    private var corpus: TextCorpus?
    private var clicks: ClickLog?
    private var molecules: (train: MoleculeSet, test: MoleculeSet)?

    init(quick: Bool) { self.quick = quick }

    func fashionMNIST() throws -> (train: Dataset, test: Dataset) {
        if let images { return images }
        let loaded = try FashionMNIST.load()
        images = loaded
        return loaded
    }

    func fortunes() throws -> TextCorpus {
        if let corpus { return corpus }
        let loaded = try TextCorpus.fortunes()
        corpus = loaded
        return loaded
    }

    /// The click log of `ngbench train --model dlrm`, at the race's size.
    func clickLog() throws -> ClickLog {
        if let clicks { return clicks }
        let plan = RaceWorkload.dlrm.plan(quick: quick)
        let loaded = try ClickLog.generate(
            trainCount: plan.trainLimit ?? 100_000, testCount: plan.testLimit ?? 20_000, zipfExponent: 1.2, seed: 2026)
        clicks = loaded
        return loaded
    }

    /// The Lennard-Jones clusters of `ngbench train --model schnet` (13 atoms), fewer displaced
    /// samples a minimum when quick.
    func clusters() throws -> (train: MoleculeSet, test: MoleculeSet) {
        if let molecules { return molecules }
        let loaded = try LennardJonesClusters.generate(atoms: 13, samples: quick ? 50 : 250, seed: 2026)
        molecules = loaded
        return loaded
    }
}
