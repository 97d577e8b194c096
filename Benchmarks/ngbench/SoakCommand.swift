import ArgumentParser
import Foundation
import NGTrain

/// `ngbench soak`: a long run of one optimizer on the Fashion-MNIST MLP, with the process's
/// resident memory and the step time sampled every `--every` steps, to show that neither drifts.
struct Soak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A long training run (default 20,000 NG+ steps of the MLP): resident memory and step time every 1,000 steps.")

    @Option(help: "Training steps to sample.") var steps = 20_000
    @Option(help: "Steps between samples.") var every = 1_000
    @Option(help: "ngplus, sgd, adam, kfac, muon or shampoo.") var optimizer: OptimizerName = .ngplus
    @Option(help: "Mini-batch size.") var batch = 128
    @Option(help: "Folder of the four IDX files.") var data = FashionMNIST.defaultDirectory
    @Option(help: "Write the samples as CSV.") var csv: String?

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if every < 1 || every > steps { throw ValidationError("--every must be in 1...--steps, got \(every)") }
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
    }

    func run() throws {
        let (train, test) = try FashionMNIST.load(directory: data)
        let perEpoch = train.count / batch
        let epochs = (steps + perEpoch - 1) / perEpoch
        let sampler = SoakSampler(steps: steps, every: every)
        let run = TrainingRun(model: .mlp, optimizer: optimizer, settings: TrainingSettings(batchSize: batch), seed: 1)
        print("soak: \(optimizer.rawValue) on the MLP, batch \(batch), \(steps) steps sampled every \(every) "
              + "(\(epochs) epochs of \(perEpoch) steps run)")
        print("   step  resident MiB  median ms/step  p90 ms/step")
        _ = try run.run(train: train, test: test, epochs: epochs) { step, _ in sampler.record(step) }
        if let csv {
            let lines = ["step,resident_mib,median_ms,p90_ms"] + sampler.samples.map {
                "\($0.step),\(String(format: "%.1f", $0.residentMiB)),\(String(format: "%.4f", $0.medianMs)),\(String(format: "%.4f", $0.p90Ms))"
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        }
        if let first = sampler.samples.first, let last = sampler.samples.last {
            print(String(format: "resident memory %.1f MiB at step %d, %.1f MiB at step %d; median step %.3f ms, then %.3f ms",
                         first.residentMiB, first.step, last.residentMiB, last.step, first.medianMs, last.medianMs))
        }
    }
}

/// The samples of a soak: per window of `every` steps, the resident memory at its end and the
/// median and 90th percentile of its step times (an epoch's test pass falls in one step time
/// and moves neither).
final class SoakSampler {
    struct Sample { let step: Int; let residentMiB: Double; let medianMs: Double; let p90Ms: Double }
    let steps: Int
    let every: Int
    private(set) var samples: [Sample] = []
    private var times: [Double]
    private var last = DispatchTime.now().uptimeNanoseconds

    init(steps: Int, every: Int) {
        self.steps = steps
        self.every = every
        times = []
        times.reserveCapacity(every)
    }

    func record(_ step: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        times.append(Double(now - last) / 1e6)
        last = now
        guard step % every == 0, step <= steps else { return }
        let sorted = times.sorted()
        let sample = Sample(
            step: step, residentMiB: Self.residentMiB(), medianMs: sorted[sorted.count / 2],
            p90Ms: sorted[min(sorted.count - 1, sorted.count * 9 / 10)])
        samples.append(sample)
        times.removeAll(keepingCapacity: true)
        print(String(format: "%7d  %12.1f  %14.3f  %11.3f", sample.step, sample.residentMiB, sample.medianMs, sample.p90Ms))
        last = DispatchTime.now().uptimeNanoseconds
    }

    /// The resident set size from /proc/self/statm (pages × page size), in MiB.
    static func residentMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}
