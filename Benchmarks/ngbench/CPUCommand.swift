import ArgumentParser
import Foundation
import NGKernels

/// `ngbench cpu`: the processor, the OpenBLAS kernels chosen for it and their self-check.
struct CPU: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The CPU's features, the OpenBLAS core detected and used, and a numerical self-check of its kernels.")

    @Flag(help: "Print only the core ngbench re-executed with (for scripts to export as OPENBLAS_CORETYPE), or nothing.")
    var coretype = false

    func run() throws {
        let selection = BenchKernels.selection
        if coretype {
            if selection.decision == .reexecuted { print(selection.fit.coreInUse) }
            return
        }
        let fit = selection.fit
        let check = KernelSelfCheck.run()
        let rows = [
            ["CPU", "\(fit.cpu.vendor) family \(fit.cpu.family) model \(fit.cpu.model)"],
            ["features", fit.cpu.features.description],
            ["vector level", fit.cpu.features.vectorLevel.description],
            ["OpenBLAS", OpenBLAS.configuration],
            ["threads", "\(OpenBLAS.threadCount)"],
            ["core detected", selection.detectedCore ?? "— (\(ProcessEnvironment.coreType) set by the user)"],
            ["core used", selection.summary],
            ["fitting core", fit.fittingCore ?? "— (no kernels above SSE known for this CPU)"],
            ["kernel fit", fit.description],
            ["self-check", check.passed ? check.summary : "FAILED: " + check.summary],
        ]
        for row in rows { print(row[0].padding(toLength: 14, withPad: " ", startingAt: 0) + row[1]) }
        if !check.passed { throw ExitCode(1) }
    }
}
