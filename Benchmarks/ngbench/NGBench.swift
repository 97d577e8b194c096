import ArgumentParser
import Foundation
import NGDistributed
import NGKernels

/// `ngbench`: what NG+ costs on this machine, measured in one run against the machine's own
/// GEMM peak. Release builds only: `swift run -c release ngbench`. `main.swift` chooses the
/// BLAS kernels before it runs.
struct NGBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngbench",
        abstract: "Measures NG+ against SGD, Adam and K-FAC, and its kernels against this machine's GEMM peak.",
        subcommands: [Suite.self, Kernels.self, Step.self, EmbeddingStep.self, Train.self, Race.self, Scaling.self, CPU.self, SGEMM.self, Soak.self, CheckpointLoop.self],
        defaultSubcommand: Suite.self)
}

/// Where the figures go besides the table.
struct OutputOptions: ParsableArguments {
    @Option(help: "Write every figure as JSON (schema in docs/NGBENCH.md).") var json: String?
    @Option(help: "Write every figure as CSV.") var csv: String?

    func write(_ result: SuiteResult) throws {
        if let json { try result.writeJSON(to: json) }
        if let csv { try result.writeCSV(to: csv) }
    }
}

/// The default suite: the machine's peak, every kernel at m = n = 1024, then each layer shape
/// at batches 32, 128, 256 and k = 1, 10, 50, and the targets.
struct Suite: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Machine peak, kernels at m = n = 1024, every suite layer at batches 32/128/256 and k = 1/10/50, targets.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let plan = common.plan()
        let machine = MachinePeak.measure(sizes: plan.quick ? [256] : [1024, 2048], plan: plan)
        Report.printMachine(machine)
        let choice = KernelChoiceFigure.measure(n: plan.quick ? 256 : 1024, plan: plan)
        Report.printKernelChoice(choice)
        let size = plan.quick ? 256 : 1024
        let kernels = try KernelBenchmarks(m: size, n: size, batch: 128, plan: plan, peak: machine.sgemmPeak).run()
        Report.printKernels(kernels)
        let shapes = plan.quick ? [LayerShape.suite[0]] : LayerShape.suite
        let batches = plan.quick ? [128] : [32, 128, 256]
        var steps: [StepFigure] = []
        for shape in shapes {
            for batch in batches {
                steps += try StepBenchmark(shape: shape, batch: batch, plan: plan).run(intervals: [1, 10, 50])
            }
        }
        Report.printSteps(steps)
        var attention: [StepFigure] = []
        for shape in plan.quick ? [LayerShape.attention[1]] : LayerShape.attention {
            attention += try StepBenchmark(shape: shape, batch: plan.quick ? 256 : LayerShape.attentionTokens, plan: plan)
                .run(intervals: [10])
        }
        Report.printSteps(attention, title: "attention projections on token rows")
        let embedding = try EmbeddingStepBenchmark.suite(peakGflops: machine.sgemmPeak, plan: plan).run()
        Report.printEmbeddingSteps(embedding)
        let targets = Targets.evaluate(kernels: kernels, steps: steps, choice: choice)
            + Targets.sequence(attention: attention, embedding: embedding)
        Report.printTargets(targets)
        try output.write(SuiteResult(
            machine: machine, kernelChoice: choice, kernels: kernels, steps: steps, attentionSteps: attention,
            embeddingSteps: embedding, targets: targets, quick: plan.quick))
    }
}

/// Every kernel at a shape of the user's choosing.
struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every kernel (GEMM, SYRK, GFIM, Cholesky inverse, apply, Woodbury) at one shape.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "GFIM order: the layer's outputs.") var m = 1024
    @Option(help: "The layer's inputs (columns of the gradient).") var n = 1024
    @Option(help: "Samples per mini-batch.") var batch = 128

    func validate() throws {
        try validateSizes([("--m", m), ("--n", n), ("--batch", batch)])
    }

    func run() throws {
        let plan = common.plan()
        let machine = MachinePeak.measure(sizes: [max(256, min(m, 2048))], plan: plan)
        Report.printMachine(machine)
        let kernels = try KernelBenchmarks(m: m, n: n, batch: batch, plan: plan, peak: machine.sgemmPeak).run()
        Report.printKernels(kernels)
        try output.write(SuiteResult(machine: machine, kernelChoice: nil, kernels: kernels, targets: [], quick: plan.quick))
    }
}

/// One dense layer's step: SGD, Adam, K-FAC and NG+ in both forms.
struct Step: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One dense layer's training step: SGD, Adam, K-FAC and NG+.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The layer's outputs.") var m = 256
    @Option(help: "The layer's inputs.") var n = 784
    @Option(help: "Samples per mini-batch.") var batch = 128
    @Option(help: "Inverse interval k.") var k = 10
    @Flag(help: "Data-parallel over the processes of mpirun (on by itself under mpirun): per process, compute, communication and refresh per step, and bytes sent.")
    var distributed = false

    func validate() throws {
        try validateSizes([("--m", m), ("--n", n), ("--batch", batch), ("--k", k)])
    }

    func run() throws {
        if distributed || Communicator.isLaunched {
            let communicator = try Communicator.world()
            if common.threads == nil { OpenBLAS.setThreadCount(DistributedThreads.perProcess(size: communicator.size)) }
            let plan = common.plan()
            let figures = try DistributedStepBenchmark(
                m: m, n: n, batch: batch, k: k, cycles: plan.quick ? 2 : max(plan.repetitions, 20),
                communicator: communicator
            ).run()
            if communicator.rank == 0 {
                Report.printDistributedSteps(
                    figures, layer: "dense \(n)→\(m)", batch: batch, k: k, processes: communicator.size,
                    threads: OpenBLAS.threadCount)
            }
            communicator.finalize()
            return
        }
        let plan = common.plan()
        let shape = LayerShape(name: "dense \(n)→\(m)", outputs: m, inputs: n)
        let steps = try StepBenchmark(shape: shape, batch: batch, plan: plan).run(intervals: [k])
        Report.printSteps(steps)
        let machine = MachinePeak(coreName: OpenBLAS.coreName, threads: OpenBLAS.threadCount, sgemm: [], dgemm: [])
        try output.write(SuiteResult(machine: machine, kernelChoice: nil, kernels: [], steps: steps, targets: [], quick: plan.quick))
    }
}

/// An embedding table's sparse step: SGD, Adam, K-FAC and NG+ at several vocabulary sizes on
/// the same lookups.
struct EmbeddingStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedding",
        abstract: "An embedding table's sparse step (SGD, Adam, K-FAC, NG+) at several vocabulary sizes, the same lookups.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: OutputOptions
    @Option(parsing: .upToNextOption, help: "Vocabulary sizes (rows of the table).") var vocabularies = [32768, 262_144]
    @Option(help: "Width of a row.") var width = 128
    @Option(help: "Lookups a step (tokens in the batch).") var lookups = 128 * 128
    @Option(help: "The lookups' ids come from the first this many rows (Zipf frequencies).") var ids = 32768
    @Option(help: "Inverse interval k.") var k = 10

    func validate() throws {
        try validateSizes([("--width", width), ("--k", k)])
        for (name, value) in [("--lookups", lookups), ("--ids", ids)] + vocabularies.map({ ("--vocabularies", $0) })
        where value < 1 || value > 1 << 24 {
            throw ValidationError("\(name) must be in 1...2²⁴, got \(value)")
        }
        guard !vocabularies.isEmpty else { throw ValidationError("--vocabularies needs at least one size") }
    }

    func run() throws {
        let plan = common.plan()
        let machine = MachinePeak.measure(sizes: [plan.quick ? 256 : 1024], plan: plan)
        Report.printMachine(machine)
        let figures = try EmbeddingStepBenchmark(
            vocabularies: vocabularies, width: width, lookups: lookups, idRange: ids, k: k, peakGflops: machine.sgemmPeak,
            plan: plan
        ).run()
        Report.printEmbeddingSteps(figures)
        let targets = Targets.sequence(attention: [], embedding: figures)
        Report.printTargets(targets)
        try output.write(SuiteResult(
            machine: machine, kernelChoice: nil, kernels: [], embeddingSteps: figures, targets: targets, quick: plan.quick))
    }
}

/// Throws a clear error for a size outside 1...16384.
func validateSizes(_ sizes: [(String, Int)]) throws {
    for (name, value) in sizes where value < 1 || value > 16384 {
        throw ValidationError("\(name) must be in 1...16384, got \(value)")
    }
}
