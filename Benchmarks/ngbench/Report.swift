import Foundation
import NGKernels

/// What ngbench prints on stdout (readable tables) and writes with `--json` and `--csv`.
enum Report {
    static func printMachine(_ machine: MachinePeak) {
        let selection = BenchKernels.selection
        print("OpenBLAS core \(machine.coreName), \(machine.threads) thread(s): \(selection.summary)")
        print("  CPU \(selection.fit.cpu)")
        for (size, gflops) in machine.sgemm { print("  sgemm n=\(size): \(format(gflops, 1)) GFLOP/s") }
        for (size, gflops) in machine.dgemm { print("  dgemm n=\(size): \(format(gflops, 1)) GFLOP/s") }
        print("  peak (best sgemm): \(format(machine.sgemmPeak, 1)) GFLOP/s")
        print()
    }

    static func printKernelChoice(_ choice: KernelChoiceFigure?) {
        guard let choice else { return }
        print("kernel choice: sgemm n=\(choice.n) \(format(choice.gflopsChosen, 1)) GFLOP/s on \(choice.coreUsed), "
            + "\(format(choice.gflopsFittingForced, 1)) with OPENBLAS_CORETYPE=\(choice.fittingCore) (\(format(100 * choice.ratio, 0))%)")
        print()
    }

    static func printKernels(_ figures: [KernelFigure]) {
        let header = ["kernel", "m", "n", "batch", "median ms", "min ms", "p90 ms", "GFLOP/s", "of peak"]
        let rows = figures.map { f in
            [f.kernel, "\(f.m)", "\(f.n)", "\(f.batch)", format(f.medianMs, 3), format(f.minimumMs, 3),
             format(f.p90Ms, 3), format(f.gflops, 1), format(100 * f.fractionOfPeak, 0) + "%"]
        }
        printTable(header: header, rows: rows)
        print()
    }

    static func printSteps(_ figures: [StepFigure], title: String? = nil) {
        if let title { print(title) }
        let header = ["layer", "batch", "k", "form", "NG+ plan", "SGD ms", "NG+ ms", "NG+/SGD", "bound",
                      "ratio/bound", "K-FAC ms", "Adam ms", "Muon ms", "Shampoo ms"]
        let rows = figures.map { f in
            [f.layer, "\(f.batch)", "\(f.k)", f.form, f.plan, format(f.sgdMs, 3), format(f.ngplusMs, 3),
             format(f.ratio, 2), format(f.bound, 2), format(f.ratio / f.bound, 2), format(f.kfacMs, 3),
             format(f.adamMs, 3), format(f.muonMs, 3), format(f.shampooMs, 3)]
        }
        printTable(header: header, rows: rows)
        print()
    }

    static func printEmbeddingSteps(_ figures: [EmbeddingStepFigure]) {
        guard let first = figures.first else { return }
        print("embedding table steps: width \(first.width), \(first.lookups) lookups touching \(first.rows) rows, k = \(first.k); "
            + "lookup and step, milliseconds")
        let header = ["vocabulary", "SGD ms", "Adam ms", "K-FAC ms", "NG+ ms", "NG+/SGD", "NG+ extra MFLOP",
                      "extra bound ms", "extra/bound"]
        let rows = figures.map { f in
            ["\(f.vocabulary)", format(f.sgdMs, 3), format(f.adamMs, 3), format(f.kfacMs, 3), format(f.ngplusMs, 3),
             format(f.ratio, 2), format(f.ngplusExtraFlops / 1e6, 1), format(f.ngplusExtraBoundMs, 3),
             format(f.extraOverBound, 2)]
        }
        printTable(header: header, rows: rows)
        print()
    }

    static func printDistributedSteps(
        _ figures: [DistributedStepFigure], layer: String, batch: Int, k: Int, processes: Int, threads: Int
    ) {
        print("data-parallel step: \(layer), global batch \(batch) over \(processes) process\(processes == 1 ? "" : "es") "
            + "(\(threads) OpenBLAS thread(s) each), k = \(k); milliseconds per step")
        let header = ["optimizer", "rank", "compute", "communication", "owned refresh", "update", "total", "KB sent/step"]
        let rows = figures.map { f in
            [f.optimizer, "\(f.rank)", format(f.computeMs, 3), format(f.communicationMs, 3), format(f.refreshMs, 3),
             format(f.updateMs, 3), format(f.totalMs, 3), format(f.bytesPerStep / 1024, 1)]
        }
        printTable(header: header, rows: rows)
        print()
    }

    static func printTargets(_ targets: [Target]) {
        let rows = targets.map { t in [t.met ? "met" : "MISSED", t.name, t.measured] }
        printTable(header: ["", "target", "measured"], rows: rows)
    }

    static func printTable(header: [String], rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for (index, row) in all.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column == 0 || column == 1 && header[1] == "target"
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            print(cells.joined(separator: "  "))
            if index == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}

/// A performance target of the suite and whether this run met it.
struct Target: Codable {
    let name: String
    let measured: String
    let met: Bool
}

/// Everything one run measured, as written by `--json` (keys in snake_case, times in
/// milliseconds; see docs/NGBENCH.md).
struct SuiteResult: Codable {
    struct Machine: Codable {
        let sgemmGflops: Double
        let dgemmGflops: Double
        /// The core used.
        let openblasCore: String
        /// The core OpenBLAS detected by itself (nil when the user forced one).
        let openblasCoreDetected: String?
        /// How the core used was chosen: detected, forced by user, re-executed, kept fallback, disabled.
        let openblasCoreChoice: String
        let openblasConfig: String
        let cpu: CPUFigure
        let threads: Int
        let sgemm: [SizeFigure]
        let dgemm: [SizeFigure]
    }

    struct CPUFigure: Codable {
        let vendor: String
        let family: Int
        let model: Int
        let features: [String]
        let vectorLevel: String
    }

    struct SizeFigure: Codable {
        let n: Int
        let gflops: Double
    }

    let date: String
    let quick: Bool
    let machine: Machine
    let kernelChoice: KernelChoiceFigure?
    let kernels: [KernelFigure]
    let steps: [StepFigure]
    /// An attention block's projections on token rows.
    let attentionSteps: [StepFigure]
    let embeddingSteps: [EmbeddingStepFigure]
    let targets: [Target]

    init(
        machine peak: MachinePeak, kernelChoice: KernelChoiceFigure?, kernels: [KernelFigure], steps: [StepFigure] = [],
        attentionSteps: [StepFigure] = [], embeddingSteps: [EmbeddingStepFigure] = [], targets: [Target], quick: Bool
    ) {
        date = ISO8601DateFormatter().string(from: Date())
        self.quick = quick
        machine = Machine(
            sgemmGflops: peak.sgemmPeak, dgemmGflops: peak.dgemm.map(\.gflops).max() ?? .nan,
            openblasCore: peak.coreName, openblasCoreDetected: BenchKernels.selection.detectedCore,
            openblasCoreChoice: BenchKernels.choiceName, openblasConfig: OpenBLAS.configuration,
            cpu: CPUFigure(BenchKernels.selection.fit.cpu), threads: peak.threads,
            sgemm: peak.sgemm.map { SizeFigure(n: $0.size, gflops: $0.gflops) },
            dgemm: peak.dgemm.map { SizeFigure(n: $0.size, gflops: $0.gflops) })
        self.kernelChoice = kernelChoice
        self.kernels = kernels
        self.steps = steps
        self.attentionSteps = attentionSteps
        self.embeddingSteps = embeddingSteps
        self.targets = targets
    }

    func writeJSON(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }

    /// One CSV of uniform columns; `section` says which fields a row fills.
    func writeCSV(to path: String) throws {
        var lines = ["section,name,m,n,batch,k,form,plan,sgd_ms,ngplus_ms,ratio,bound,kfac_ms,adam_ms,median_ms,gflops,fraction_of_peak,muon_ms,shampoo_ms"]
        for size in machine.sgemm { lines.append("machine,sgemm,\(size.n),\(size.n),,,,,,,,,,,,\(size.gflops),,,") }
        for size in machine.dgemm { lines.append("machine,dgemm,\(size.n),\(size.n),,,,,,,,,,,,\(size.gflops),,,") }
        for k in kernels {
            lines.append("kernel,\(quoted(k.kernel)),\(k.m),\(k.n),\(k.batch),,,,,,,,,,\(k.medianMs),\(k.gflops),\(k.fractionOfPeak),,")
        }
        for s in attentionSteps {
            lines.append("attention,\(quoted(s.layer)),\(s.m),\(s.n),\(s.batch),\(s.k),\(s.form),\(quoted(s.plan)),\(s.sgdMs),\(s.ngplusMs),\(s.ratio),\(s.bound),\(s.kfacMs),\(s.adamMs),,,,\(s.muonMs),\(s.shampooMs)")
        }
        for e in embeddingSteps {
            lines.append("embedding,\"table \(e.vocabulary)×\(e.width)\",\(e.vocabulary),\(e.width),\(e.lookups),\(e.k),sparse,\"right\",\(e.sgdMs),\(e.ngplusMs),\(e.ratio),,\(e.kfacMs),\(e.adamMs),,,,,")
        }
        for s in steps {
            lines.append("step,\(quoted(s.layer)),\(s.m),\(s.n),\(s.batch),\(s.k),\(s.form),\(quoted(s.plan)),\(s.sgdMs),\(s.ngplusMs),\(s.ratio),\(s.bound),\(s.kfacMs),\(s.adamMs),,,,\(s.muonMs),\(s.shampooMs)")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    func quoted(_ field: String) -> String { "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

extension SuiteResult.CPUFigure {
    init(_ cpu: CPUDescription) {
        self.init(vendor: cpu.vendor, family: cpu.family, model: cpu.model, features: cpu.features.names,
                  vectorLevel: cpu.features.vectorLevel.description)
    }
}
