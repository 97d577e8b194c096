import ArgumentParser
import Foundation
import NGKernels

/// Options every ngbench command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "OpenBLAS threads for every BLAS call (default: OpenBLAS's own choice).")
    var threads: Int?

    @Flag(help: "A run of a few seconds with small repetition counts: proves the tool works, never judges speed.")
    var quick = false

    @Option(help: "Timed repetitions per figure (default 15, or 3 with --quick).")
    var repetitions: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let repetitions, repetitions < 1 {
            throw ValidationError("--repetitions must be at least 1, got \(repetitions)")
        }
    }

    /// Applies the thread count and returns the plan.
    func plan() -> RunPlan {
        if let threads { OpenBLAS.setThreadCount(threads) }
        return RunPlan(
            warmup: quick ? 1 : 3, repetitions: repetitions ?? (quick ? 3 : 15), quick: quick)
    }
}

/// How much to measure, and where progress goes (stderr, so stdout stays a clean table).
struct RunPlan {
    let warmup: Int
    let repetitions: Int
    let quick: Bool

    func progress(_ line: String) {
        FileHandle.standardError.write(Data("… \(line)\n".utf8))
    }
}
