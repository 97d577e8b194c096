import ArgumentParser
import Foundation
import NGKernels

/// `ngbench`: what NG+ costs on this machine, measured in one run against the machine's own
/// GEMM peak. Release builds only: `swift run -c release ngbench`.
@main
struct NGBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngbench",
        abstract: "Measures NG+ kernels against this machine's measured GEMM peak.",
        subcommands: [Suite.self, Kernels.self, Step.self],
        defaultSubcommand: Suite.self)
}

/// The default suite: the machine's peak, then every kernel at m = n = 1024, batch 128.
struct Suite: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Machine peak, then every kernel at m = n = 1024 (256 with --quick), batch 128.")

    @OptionGroup var common: CommonOptions

    func run() throws {
        let plan = common.plan()
        let size = plan.quick ? 256 : 1024
        let machine = MachinePeak.measure(sizes: plan.quick ? [256] : [1024, 2048], plan: plan)
        Report.printMachine(machine)
        let figures = try KernelBenchmarks(m: size, n: size, batch: 128, plan: plan, peak: machine.sgemmPeak).run()
        Report.printKernels(figures)
    }
}

/// Every kernel at a shape of the user's choosing.
struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every kernel (GEMM, SYRK, GFIM, Cholesky inverse, apply, Woodbury) at one shape.")

    @OptionGroup var common: CommonOptions
    @Option(help: "GFIM order: the layer's outputs.") var m = 1024
    @Option(help: "The layer's inputs (columns of the gradient).") var n = 1024
    @Option(help: "Samples per mini-batch.") var batch = 128

    func validate() throws {
        for (name, value) in [("--m", m), ("--n", n), ("--batch", batch)] where value < 1 || value > 16384 {
            throw ValidationError("\(name) must be in 1...16384, got \(value)")
        }
    }

    func run() throws {
        let plan = common.plan()
        let machine = MachinePeak.measure(sizes: [max(256, min(m, 2048))], plan: plan)
        Report.printMachine(machine)
        Report.printKernels(try KernelBenchmarks(m: m, n: n, batch: batch, plan: plan, peak: machine.sgemmPeak).run())
    }
}

/// One dense layer's step, SGD against NG+, in both forms.
struct Step: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One dense layer's training step: SGD against NG+.")

    @OptionGroup var common: CommonOptions
    @Option(help: "The layer's outputs.") var m = 256
    @Option(help: "The layer's inputs.") var n = 784
    @Option(help: "Samples per mini-batch.") var batch = 128
    @Option(help: "Inverse interval k.") var k = 10

    func validate() throws {
        for (name, value) in [("--m", m), ("--n", n), ("--batch", batch), ("--k", k)] where value < 1 || value > 16384 {
            throw ValidationError("\(name) must be in 1...16384, got \(value)")
        }
    }

    func run() throws {
        let plan = common.plan()
        let benchmark = StepBenchmark(layer: "dense", m: m, n: n, batch: batch, plan: plan)
        let figures = try [false, true].map { fused in try benchmark.measure(k: k, fused: fused) }
        Report.printSteps(figures)
    }
}
