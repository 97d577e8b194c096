import ArgumentParser
import Foundation
import NGPlus

/// One competitor of `ngbench race`: an optimizer, NG+ with either base, and NG+ with the
/// rules meant to make it need no tuning, its damping relative to the GFIM's mean eigenvalue
/// and its step's size grafted from the gradient's (`ngplus-graft`) or Adam's step's
/// (`ngplus-adamgraft`).
enum RaceEntrant: String, CaseIterable, Codable, Sendable, ExpressibleByArgument {
    case sgd, adam, kfac, shampoo, muon, ngplus
    case ngplusAdam = "ngplus-adam"
    case ngplusGraft = "ngplus-graft"
    case ngplusAdamGraft = "ngplus-adamgraft"

    var optimizer: OptimizerName {
        switch self {
        case .sgd: .sgd
        case .adam: .adam
        case .kfac: .kfac
        case .shampoo: .shampoo
        case .muon: .muon
        case .ngplus, .ngplusAdam, .ngplusGraft, .ngplusAdamGraft: .ngplus
        }
    }

    var base: NGPlusBase { self == .ngplusAdam ? .adam : .sgd }

    /// NG+'s step size and damping form: the authors' but for the grafted entrants.
    var graft: StepGraft {
        switch self {
        case .ngplusGraft: .gradientNorm
        case .ngplusAdamGraft: .adamNorm
        default: .none
        }
    }
    var dampingForm: DampingForm? { graft == .none ? nil : .relative }

    /// The self-tuning track's one configuration of this optimizer for every workload (a cosine
    /// decay of the learning rate over the budget; the transformer adds a 5% warm-up): the draw
    /// of `selfTuningDraw` from the external track's search space, or `searchCenter` for an
    /// optimizer that has none. Nothing is chosen per workload.
    var defaults: RaceHyperparameters {
        selfTuningDraw.map { searchSpace.trial($0, offset: 0) } ?? searchCenter
    }

    /// The draw (from `--search-seed 0`) that, scored alone as one configuration for all six
    /// workloads, did best in the external track of 2026-12-05 (its third run, the first on
    /// `ValidationSchedule`) — the same rule for every optimizer (docs/RACE.md,
    /// docs/measurements/race-external-third-2026-12-05.md). nil: not in that track
    /// (`ngplus-graft`), which keeps `searchCenter`.
    var selfTuningDraw: Int? {
        switch self {
        case .muon: 0
        case .adam, .shampoo, .ngplusAdam: 2
        case .kfac, .ngplus: 3
        case .sgd, .ngplusAdamGraft: 4
        case .ngplusGraft: nil
        }
    }

    /// The middle of the external track's search space: the values `ngbench train` used
    /// across its models (docs/TRAINING.md), one per optimizer.
    var searchCenter: RaceHyperparameters {
        switch self {
        case .sgd: RaceHyperparameters(learningRate: 0.05)
        case .adam: RaceHyperparameters(learningRate: 1e-3)
        case .kfac: RaceHyperparameters(learningRate: 0.02, damping: 0.1, inverseInterval: 10)
        case .shampoo: RaceHyperparameters(learningRate: 1e-3, inverseInterval: 10)
        case .muon: RaceHyperparameters(learningRate: 0.02)
        case .ngplus: RaceHyperparameters(learningRate: 0.05, damping: 0.1, inverseInterval: 10)
        case .ngplusAdam: RaceHyperparameters(learningRate: 1e-3, damping: 0.1, inverseInterval: 10)
        // The graft makes the step SGD's size: 0.05 (SGD's) and λ = 0.1 of the mean
        // eigenvalue diverged on the DLRM and SchNet (docs/measurements/race-self-tuning-2026-12-05.md);
        // lr 0.02 with λ equal to the mean eigenvalue trained both in one-epoch pilots.
        case .ngplusGraft: RaceHyperparameters(learningRate: 0.02, damping: 1, inverseInterval: 10)
        // Adam's 10⁻³: one-seed pilots of 10⁻⁴ (Adam's step after the base's momentum gain of
        // 10) reached 3 of 6 targets, 3·10⁻⁴ and 5·10⁻⁴ missed the DLRM's, 10⁻³ reached 5 of 6
        // (docs/RACE.md).
        case .ngplusAdamGraft: RaceHyperparameters(learningRate: 1e-3, damping: 1, inverseInterval: 10)
        }
    }

    /// The external-tuning track's search space: the learning rate log-uniform over two decades
    /// around `searchCenter`'s, the damping log-uniform over [10⁻³, 1] where the optimizer has
    /// one, the inverse interval log-uniform over [5, 50] where it has one.
    var searchSpace: RaceSearchSpace {
        let lr = searchCenter.learningRate
        let learningRate = RaceSearchSpace.Range(lower: lr / 10, upper: lr * 10)
        let damping = searchCenter.damping.map { _ in RaceSearchSpace.Range(lower: 1e-3, upper: 1) }
        let interval = searchCenter.inverseInterval.map { _ in RaceSearchSpace.Range(lower: 5, upper: 50) }
        return RaceSearchSpace(learningRate: learningRate, damping: damping, inverseInterval: interval)
    }
}

/// The hyper-parameters a race sets for a trial; the rest are the optimizer's defaults.
struct RaceHyperparameters: Codable, Equatable, Sendable {
    var learningRate: Double
    var damping: Double?
    var inverseInterval: Int?
}

/// A declared search space: each dimension log-uniform over its range.
struct RaceSearchSpace: Sendable {
    struct Range: Sendable {
        let lower: Double
        let upper: Double

        /// The point at `u` ∈ [0, 1) of the range on a log scale.
        func at(_ u: Double) -> Double { lower * pow(upper / lower, u) }
    }

    let learningRate: Range
    let damping: Range?
    let inverseInterval: Range?

    /// Trial `index` of a quasi-random sequence: the Halton point of index `offset + index + 1`
    /// in bases 2, 3 and 5 (one per dimension), mapped onto the ranges. The same offset gives
    /// every optimizer and workload the same points of the unit cube.
    func trial(_ index: Int, offset: Int) -> RaceHyperparameters {
        let n = offset + index + 1
        return RaceHyperparameters(
            learningRate: learningRate.at(Self.halton(n, base: 2)),
            damping: damping?.at(Self.halton(n, base: 3)),
            inverseInterval: inverseInterval.map { Int($0.at(Self.halton(n, base: 5)).rounded()) })
    }

    /// The radical inverse of `n` in `base`: its digits mirrored about the radix point.
    static func halton(_ n: Int, base: Int) -> Double {
        var (value, fraction, rest) = (0.0, 1.0 / Double(base), n)
        while rest > 0 {
            value += Double(rest % base) * fraction
            rest /= base
            fraction /= Double(base)
        }
        return value
    }
}
