import Foundation
import Testing

/// `ngbench race`: trials written as they end and resumed from the file, the summary and the
/// profiles consistent with each other, the external track's draws where the quasi-random
/// sequence puts them and each scored alone, and the self-tuning track at the chosen draws.
@Suite struct RaceCommandTests {
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ngplus-race-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func lines(_ path: URL) throws -> [String] {
        try String(contentsOf: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func aRaceResumesFromItsTrialsAndItsProfilesMatchItsSummary() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let arguments = ["race", "--quick", "--workloads", "mlp", "--optimizers", "sgd", "ngplus", "--output", folder.path]
        let first = try runNGBench(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("self-tuning track (quick): 2 trials, 0 already in"), "\(first.stdout)")
        let trials = folder.appendingPathComponent("trials.jsonl")
        #expect(try Self.lines(trials).count == 2)

        // A line cut short (a race killed while writing) is dropped and its trial run again.
        let text = try String(contentsOf: trials, encoding: .utf8)
        try String(text.dropLast(40)).write(to: trials, atomically: true, encoding: .utf8)
        let resumed = try runNGBench(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("2 trials, 1 already in"), "\(resumed.stdout)")
        #expect(try Self.lines(trials).count == 2)

        // Ten validations an epoch (46 steps of 128 images): never more than 5 steps apart. A
        // trial stored before the plan had the field (once an epoch) is read, and run again.
        for trial in try Self.decodedTrials(folder) {
            #expect(trial.plan.validationsPerEpoch == 10)
            let gaps = zip(trial.points.map(\.steps), [0] + trial.points.map(\.steps)).map { $0 - $1 }
            #expect(!gaps.isEmpty && gaps.allSatisfy { (1...5).contains($0) }, "\(trial.points.map(\.steps))")
        }
        let stored = try Self.lines(trials)
        try ([stored[0].replacingOccurrences(of: ",\"validationsPerEpoch\":10", with: "")] + stored.dropFirst())
            .joined(separator: "\n").appending("\n").write(to: trials, atomically: true, encoding: .utf8)
        #expect(try !Self.lines(trials)[0].contains("validationsPerEpoch"))
        let rerun = try runNGBench(arguments)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("2 trials, 1 already in"), "\(rerun.stdout)")

        // One workload: the fastest has ρ = 1 from τ = 1 (score 1); another that reached the
        // target at r × the fastest has ρ = 0 below r and 1 from r, a score of (4 − r)/3.
        let summary = try Self.lines(folder.appendingPathComponent("self-tuning-summary.csv")).dropFirst()
        #expect(summary.count == 2)
        for row in summary {
            let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard let ratio = Double(fields[8]), let score = Double(fields[9]) else {
                #expect(fields[4] == "0", "a trial with no ratio must not have reached: \(row)")
                #expect(Double(fields[9]) == 0)
                continue
            }
            #expect(ratio >= 1)
            #expect(abs(score - max(0, 4 - ratio) / 3) <= 0.01 / 3 + 1e-9, "\(row)")
        }
        let profile = try Self.lines(folder.appendingPathComponent("self-tuning-profile.csv"))
        #expect(profile.first == "tau,sgd,ngplus")
        #expect(profile.count == 302)
        let svg = try String(contentsOf: folder.appendingPathComponent("self-tuning-profile.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("ngplus"))
    }

    /// With `--search-seed 0`, draw d is the Halton point d + 1: draw 0 is (1/2, 1/3, 1/5), the
    /// learning rate's geometric middle (the default) with λ = 10⁻³·1000^(1/3) = 0.01 and
    /// k = 5·10^(1/5) ≈ 7.9 → 8; draw 1 is (1/4, 2/3, 2/5): lr = default·10^(−1/2),
    /// λ = 0.1, k = 5·10^(2/5) ≈ 12.6 → 13.
    @Test func theExternalTrackDrawsTheQuasiRandomPoints() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runNGBench([
            "race", "--track", "external", "--quick", "--workloads", "mlp", "--optimizers", "ngplus", "--trials", "2",
            "--output", folder.path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let trials = try Self.decodedTrials(folder)
        try #require(trials.count == 2)
        let expected: [(lr: Double, damping: Double, k: Int)] = [(0.05, 0.01, 8), (0.05 / 10.0.squareRoot(), 0.1, 13)]
        for (trial, want) in zip(trials, expected) {
            #expect(abs(trial.hyperparameters.learningRate / want.lr - 1) < 1e-12)
            #expect(abs(trial.hyperparameters.damping! / want.damping - 1) < 1e-12)
            #expect(trial.hyperparameters.inverseInterval == want.k)
        }

        // Each draw scored alone: on one workload the optimizer counts its fastest draw, so the
        // best draw's score is the optimizer's, and no draw scores more.
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let drawsHeader = try #require(lines.firstIndex { $0.hasPrefix("each draw alone") })
        let drawScores = lines[(drawsHeader + 3)...].prefix { $0.hasPrefix("ngplus ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        #expect(drawScores.count == 2, "\(run.stdout)")
        let scoreHeader = try #require(lines.firstIndex { $0.hasPrefix("score:") })
        let optimizerScore = try #require(lines[(scoreHeader + 3)...].first { $0.hasPrefix("ngplus ") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Double($0) })
        #expect(drawScores.max() == optimizerScore, "\(run.stdout)")
    }

    /// The self-tuning track runs each optimizer at its chosen draw of the external track:
    /// for NG+ on Adam draw 2, the Halton point 3 = (3/4, 1/9, 3/5) of its search space, lr =
    /// 10⁻³·10^(1/2), λ = 10⁻³·10^(1/3) and k = 5·10^(3/5) ≈ 19.9 → 20.
    @Test func theSelfTuningTrackRunsTheChosenDraw() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runNGBench([
            "race", "--quick", "--workloads", "mlp", "--optimizers", "ngplus-adam", "--output", folder.path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let trials = try Self.decodedTrials(folder)
        try #require(trials.count == 1)
        #expect(abs(trials[0].hyperparameters.learningRate / (1e-3 * 10.0.squareRoot()) - 1) < 1e-12)
        #expect(abs(trials[0].hyperparameters.damping! / (1e-3 * Foundation.pow(10, 1.0 / 3)) - 1) < 1e-12)
        #expect(trials[0].hyperparameters.inverseInterval == 20)
    }

    struct Trial: Decodable {
        struct Hyperparameters: Decodable {
            let learningRate: Double
            let damping: Double?
            let inverseInterval: Int?
        }
        struct Plan: Decodable {
            let validationsPerEpoch: Int?
        }
        struct Point: Decodable {
            let steps: Int
        }
        let draw: Int
        let hyperparameters: Hyperparameters
        let plan: Plan
        let points: [Point]
    }

    /// The trials a race wrote to `folder`, by draw.
    static func decodedTrials(_ folder: URL) throws -> [Trial] {
        try lines(folder.appendingPathComponent("trials.jsonl"))
            .map { try JSONDecoder().decode(Trial.self, from: Data($0.utf8)) }.sorted { $0.draw < $1.draw }
    }
}
