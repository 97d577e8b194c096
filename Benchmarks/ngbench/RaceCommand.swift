import ArgumentParser
import Foundation
import NGDistributed
import NGKernels

extension RaceTrack: ExpressibleByArgument {}

/// `ngbench race`: every optimizer on every workload under one protocol (AlgoPerf's, at the
/// size of this machine): time to a validation target within a budget, per track, with
/// performance profiles over the workloads. docs/RACE.md has the protocol and the results.
struct Race: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every optimizer on every workload: time to each workload's target, performance profiles and scores.")

    @Option(help: "self-tuning (one configuration per optimizer for every workload) or external (the fastest of --trials draws from each optimizer's search space).")
    var track: RaceTrack = .selfTuning
    @Flag(help: "Small slices, loose targets and one seed: a few minutes that check the race runs (CI), not a result.")
    var quick = false
    @Option(parsing: .upToNextOption, help: "Workloads (default: all): mlp cnn resnet transformer dlrm schnet.")
    var workloads: [RaceWorkload] = RaceWorkload.allCases
    @Option(parsing: .upToNextOption, help: "Optimizers (default: all): sgd adam kfac shampoo muon ngplus ngplus-adam.")
    var optimizers: [RaceEntrant] = RaceEntrant.allCases
    @Option(help: "Seeds a configuration (default: 3 on the self-tuning track, 1 on the external track and with --quick).")
    var seeds: Int?
    @Option(help: "External track: draws a workload and optimizer.") var trials = 5
    @Option(help: "External track: where in the quasi-random sequence the draws start.") var searchSeed = 0
    @Option(help: "Folder of the trials (trials.jsonl: a race resumes from it) and of the track's CSV and SVG files.")
    var output = "race"
    @Option(help: "OpenBLAS threads.") var threads: Int?

    var seedCount: Int { seeds ?? (quick || track == .external ? 1 : 3) }

    func validate() throws {
        if let seeds, !(1...100).contains(seeds) { throw ValidationError("--seeds must be in 1...100, got \(seeds)") }
        if !(1...100).contains(trials) { throw ValidationError("--trials must be in 1...100, got \(trials)") }
        if searchSeed < 0 { throw ValidationError("--search-seed must be at least 0, got \(searchSeed)") }
        if workloads.isEmpty || optimizers.isEmpty { throw ValidationError("--workloads and --optimizers need at least one name") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Every trial of the track, in the order they run: workload, optimizer, draw, seed.
    func schedule() -> [RaceTrial] {
        var trials: [RaceTrial] = []
        for workload in workloads {
            for entrant in optimizers {
                let draws = track == .selfTuning ? 1 : self.trials
                for draw in 0..<draws {
                    let hyperparameters = track == .selfTuning
                        ? entrant.defaults : entrant.searchSpace.trial(draw, offset: searchSeed)
                    for seed in 1...UInt64(seedCount) {
                        trials.append(RaceTrial(
                            track: track, workload: workload, entrant: entrant, draw: draw, seed: seed,
                            hyperparameters: hyperparameters, plan: workload.plan(quick: quick)))
                    }
                }
            }
        }
        return trials
    }

    func run() throws {
        if Communicator.isLaunched { throw ValidationError("ngbench race runs on one process") }
        if let threads { OpenBLAS.setThreadCount(threads) }
        Train.quietIdleBLASThreads(printing: true)
        Report.printMachine(MachinePeak.measure(sizes: [1024], plan: RunPlan(warmup: 1, repetitions: 3, quick: true)))
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var log = try RaceLog(path: "\(output)/trials.jsonl")
        let all = schedule()
        let pending = all.filter { log.finished($0) == nil }
        print("\(track.rawValue) track\(quick ? " (quick)" : ""): \(all.count) trials, \(all.count - pending.count) already in \(output)/trials.jsonl")
        // Each workload's data is loaded once, when its first trial runs.
        let data = RaceData(quick: quick)
        let bar = ProgressBar(label: "race")
        for (index, var trial) in pending.enumerated() {
            try trial.run(data: data) { step, steps in
                bar.update(Int((Double(index) + Double(step) / Double(steps)) * 1000), pending.count * 1000)
            }
            try log.append(trial)
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            print(Self.line(trial))
            fflush(nil)  // every stream: a line a trial even when stdout is a file
        }
        let finished = all.compactMap(log.finished)
        let standings = RaceStandings(track: track, workloads: workloads, entrants: optimizers, trials: finished)
        RaceReport.print(standings)
        if track == .external { RaceReport.printDraws(standings.drawScores(finished), workloads: workloads) }
        let stem = "\(output)/\(track.rawValue)"
        try RaceReport.writeSummaryCSV(standings, to: "\(stem)-summary.csv")
        try RaceReport.writeProfileCSV(standings, to: "\(stem)-profile.csv")
        try RaceReport.writeProfileSVG(standings, to: "\(stem)-profile.svg")
        print("\nwrote \(stem)-summary.csv, \(stem)-profile.csv, \(stem)-profile.svg")
    }

    /// One finished trial in a line.
    static func line(_ trial: RaceTrial) -> String {
        let head = "\(trial.workload.rawValue) \(trial.entrant.rawValue) draw \(trial.draw) seed \(trial.seed):"
        if trial.diverged { return "\(head) diverged" }
        let last = trial.points.last
        let figure = last.map {
            "\(trial.workload.metric.name) \(Report.format($0.metric, 4)) after \($0.steps) steps (epoch \($0.epoch)), "
                + "\(Report.format($0.seconds, 1)) s"
        } ?? ""
        return "\(head) \(trial.reached == nil ? "target not reached" : "target reached"); \(figure)"
    }
}
