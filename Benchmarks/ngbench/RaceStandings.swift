import Foundation

/// What a track of the race came to: per workload and optimizer the time to target that counts
/// (the median over seeds; on the external track, of the fastest draw), and the performance
/// profiles over the workloads with their scores.
struct RaceStandings {
    /// One optimizer on one workload.
    struct Entry {
        let workload: RaceWorkload
        let entrant: RaceEntrant
        /// The counted configuration's trials, one a seed.
        let trials: [RaceTrial]

        /// Training seconds to target of each seed; nil: not reached.
        var seconds: [Double?] { trials.map { $0.reached?.seconds } }

        /// The median over seeds, a seed that did not reach counting as infinitely slow; nil
        /// when that median is not finite.
        var medianSeconds: Double? { Self.median(seconds) }

        var medianSteps: Double? { Self.median(trials.map { $0.reached.map { Double($0.steps) } }) }

        /// Training seconds a step over every epoch the counted trials trained, reached or not.
        var secondsPerStep: Double {
            let (seconds, steps) = trials.compactMap(\.points.last).reduce((0.0, 0)) { ($0.0 + $1.seconds, $0.1 + $1.steps) }
            return steps > 0 ? seconds / Double(steps) : 0
        }

        static func median(_ values: [Double?]) -> Double? {
            let sorted = values.map { $0 ?? .infinity }.sorted()
            guard !sorted.isEmpty else { return nil }
            let middle = sorted.count / 2
            let value = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            return value.isFinite ? value : nil
        }
    }

    let track: RaceTrack
    let workloads: [RaceWorkload]
    let entrants: [RaceEntrant]
    let entries: [Entry]

    /// The standings of `track` from its finished trials.
    init(track: RaceTrack, workloads: [RaceWorkload], entrants: [RaceEntrant], trials: [RaceTrial]) {
        self.track = track
        self.workloads = workloads
        self.entrants = entrants
        var entries: [Entry] = []
        for workload in workloads {
            for entrant in entrants {
                let mine = trials.filter { $0.track == track && $0.workload == workload && $0.entrant == entrant }
                let draws = Dictionary(grouping: mine, by: \.draw).values.map { $0.sorted { $0.seed < $1.seed } }
                // The fastest draw counts; among draws that never reach, the first.
                let counted = draws.min { a, b in
                    let (x, y) = (Entry.median(a.map { $0.reached?.seconds }), Entry.median(b.map { $0.reached?.seconds }))
                    return (x ?? .infinity, a[0].draw) < (y ?? .infinity, b[0].draw)
                }
                if let counted { entries.append(Entry(workload: workload, entrant: entrant, trials: counted)) }
            }
        }
        self.entries = entries
    }

    /// An entry's median time over the fastest median on its workload; nil when it did not
    /// reach the target.
    func ratio(_ entry: Entry) -> Double? {
        entry.medianSeconds.map { $0 / (fastestSeconds(on: entry.workload) ?? $0) }
    }

    /// The fastest median time to target on `workload` (each entry counts its fastest draw, so
    /// no trial of the track is faster); nil when none reached it.
    func fastestSeconds(on workload: RaceWorkload) -> Double? {
        entries.filter { $0.workload == workload }.compactMap(\.medianSeconds).min()
    }

    /// The τ of the profiles: 1 to 4 in steps of 0.01.
    static let taus = (0...300).map { 1 + Double($0) / 100 }

    /// ρ(τ): the fraction of the workloads on which `entrant` reached the target within τ times
    /// the fastest.
    func profile(_ entrant: RaceEntrant) -> [Double] {
        profile(ratios: entries.filter { $0.entrant == entrant }.map(ratio))
    }

    /// ρ(τ) of one ratio per workload reached (nil: not reached).
    func profile(ratios: [Double?]) -> [Double] {
        Self.taus.map { tau in
            Double(ratios.filter { ($0 ?? .infinity) <= tau + 1e-12 }.count) / Double(max(workloads.count, 1))
        }
    }

    /// The area under the profile over τ ∈ [1, 4], divided by 3: 1 when the optimizer is the
    /// fastest on every workload, 0 when it reaches no target within 4× the fastest.
    func score(_ entrant: RaceEntrant) -> Double {
        Self.area(profile(entrant))
    }

    /// The trapezoid area under ρ over the τ grid, divided by 3.
    static func area(_ rho: [Double]) -> Double {
        var area = 0.0
        for i in 1..<rho.count { area += (rho[i - 1] + rho[i]) / 2 * (Self.taus[i] - Self.taus[i - 1]) }
        return area / 3
    }

    /// One draw of the external track scored alone, as if it were one configuration for every
    /// workload: its ratio on each workload to the fastest of all trials there, and its score.
    struct DrawScore {
        let entrant: RaceEntrant
        let draw: Int
        let hyperparameters: RaceHyperparameters
        let ratios: [Double?]
        let score: Double
    }

    /// Every draw of every optimizer scored alone (the rule that picks the self-tuning track's
    /// configurations, docs/RACE.md), from the trials of this track.
    func drawScores(_ trials: [RaceTrial]) -> [DrawScore] {
        var scores: [DrawScore] = []
        for entrant in entrants {
            let mine = trials.filter { $0.track == track && $0.entrant == entrant }
            for draw in Set(mine.map(\.draw)).sorted() {
                let drawn = mine.filter { $0.draw == draw }
                let ratios = workloads.map { workload -> Double? in
                    let seeds = drawn.filter { $0.workload == workload }.sorted { $0.seed < $1.seed }
                    guard let seconds = Entry.median(seeds.map { $0.reached?.seconds }) else { return nil }
                    return seconds / (fastestSeconds(on: workload) ?? seconds)
                }
                scores.append(DrawScore(
                    entrant: entrant, draw: draw, hyperparameters: drawn[0].hyperparameters, ratios: ratios,
                    score: Self.area(profile(ratios: ratios))))
            }
        }
        return scores
    }
}
