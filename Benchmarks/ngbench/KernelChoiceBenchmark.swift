import ArgumentParser
import Foundation
import NGKernels

/// `ngbench sgemm`: raw sgemm GFLOP/s at one order, on whatever kernels the process runs. The
/// suite runs it as a child with the fitting core forced, to judge the automatic choice.
struct SGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Raw cblas_sgemm GFLOP/s at one order, and the OpenBLAS core that ran it.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Matrix order.") var n = 1024

    func validate() throws { try validateSizes([("--n", n)]) }

    func run() throws {
        let plan = common.plan()
        print("\(OpenBLAS.coreName)\t\(MachinePeak.rawGEMM(Float.self, n: n, plan: plan))")
    }
}

/// The automatic kernel choice against the fitting core forced by hand: sgemm at n = 1024 in
/// this process, and in a child ngbench started with `OPENBLAS_CORETYPE` set to the fitting
/// core, alternately (here, child, here, child), the best of each side: the machine is shared
/// and its speed swings within seconds, which must not count for or against the choice.
struct KernelChoiceFigure: Codable {
    let n: Int
    let coreUsed: String
    let fittingCore: String
    let gflopsChosen: Double
    let gflopsFittingForced: Double
    var ratio: Double { gflopsChosen / gflopsFittingForced }

    static func measure(n: Int, plan: RunPlan) -> KernelChoiceFigure? {
        guard let fitting = BenchKernels.selection.fit.fittingCore else { return nil }
        plan.progress("kernel choice: sgemm n = \(n) here and with OPENBLAS_CORETYPE=\(fitting)")
        let environment = ChildProcess.environment(applying: [
            ProcessEnvironment.coreType: fitting,
            ProcessEnvironment.kernelSelection: "off",
            ProcessEnvironment.testDetectedCore: nil,
            ProcessEnvironment.reexecutedFrom: nil,
        ])
        let arguments = ["sgemm", "--n", "\(n)", "--threads", "\(OpenBLAS.threadCount)",
                         "--repetitions", "\(plan.repetitions)"] + (plan.quick ? ["--quick"] : [])
        var here: [Double] = []
        var forced: [(core: String, gflops: Double)] = []
        for _ in 0..<2 {
            here.append(MachinePeak.rawGEMM(Float.self, n: n, plan: plan))
            guard let outcome = ChildProcess.run(arguments: arguments, environment: environment, timeLimit: 300),
                  outcome.exitStatus == 0 else { return nil }
            let fields = outcome.output.split(separator: "\n").first?.split(separator: "\t") ?? []
            guard fields.count == 2, let gflops = Double(fields[1]) else { return nil }
            forced.append((String(fields[0]), gflops))
        }
        return KernelChoiceFigure(
            n: n, coreUsed: OpenBLAS.coreName, fittingCore: forced[0].core,
            gflopsChosen: here.max()!, gflopsFittingForced: forced.map(\.gflops).max()!)
    }
}
