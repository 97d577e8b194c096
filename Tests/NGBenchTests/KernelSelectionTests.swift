import Foundation
import NGKernels
import Testing

/// `ngbench`'s kernel selection, end to end: the built ngbench runs as a child process with a
/// test hook that makes OpenBLAS's choice look like a fallback (`NGPLUS_TEST_DETECTED_CORE`),
/// so the re-execution, the self-check and the library's warning are proven on any machine.
@Suite struct KernelSelectionTests {
    func ngbench(_ arguments: [String], environment: [String: String] = [:]) throws -> NGBenchRun {
        try runNGBench(arguments, environment: environment)
    }

    /// The core the test machine's CPU should run; the tests that need one skip without it.
    var fittingCore: String? { OpenBLASCoreTable.fittingCore(for: .current) }

    @Test(.enabled(if: hasFittingCore, "an SSE-only CPU has no fitting core to switch to"))
    func aFallbackIsReplacedByTheFittingCoreAfterItsSelfCheck() throws {
        let core = try #require(fittingCore)
        let run = try ngbench(["cpu"], environment: ["NGPLUS_TEST_DETECTED_CORE": "Prescott"])
        #expect(run.status == 0)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line about the change, and no library warning: \(run.stderr)")
        #expect(run.stderr.contains("re-running with OPENBLAS_CORETYPE=\(core), which passed its self-check"))
        #expect(run.stdout.contains("core used     core \(core), chosen for this CPU after a self-check (OpenBLAS had detected Prescott)"))
        #expect(run.stdout.contains("self-check    passed"))

        let script = try ngbench(["cpu", "--coretype"], environment: ["NGPLUS_TEST_DETECTED_CORE": "Prescott"])
        #expect(script.stdout == core + "\n")
    }

    @Test(.enabled(if: hasFittingCore, "an SSE-only CPU has no fitting core to switch to"))
    func aCoreThatFailsItsSelfCheckIsNotUsed() throws {
        let core = try #require(fittingCore)
        let run = try ngbench(["cpu"], environment: [
            "NGPLUS_TEST_DETECTED_CORE": "Prescott", "NGPLUS_TEST_CORRUPT_SELF_CHECK": "1",
        ])
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains("kept OpenBLAS's Prescott kernels"))
        #expect(run.stderr.contains("\(core) failed its self-check"))
        #expect(run.stdout.contains("core used     core Prescott, a fallback kept"))
        #expect(!run.stdout.contains("after a self-check"))
        #expect(run.status == 1, "ngbench cpu's own self-check sees the corrupted GEMM too")

        let script = try ngbench(["cpu", "--coretype"], environment: [
            "NGPLUS_TEST_DETECTED_CORE": "Prescott", "NGPLUS_TEST_CORRUPT_SELF_CHECK": "1",
        ])
        #expect(script.stdout.isEmpty)
    }

    @Test(.enabled(if: hasFittingCore, "an SSE-only CPU has no fitting core to switch to"))
    func withSelectionOffTheLibraryWarnsOnceWithTheFix() throws {
        let core = try #require(fittingCore)
        let run = try ngbench(["cpu"], environment: [
            "NGPLUS_TEST_DETECTED_CORE": "Prescott", "NGPLUS_KERNEL_SELECTION": "off",
        ])
        #expect(run.status == 0)
        let warnings = run.stderr.split(separator: "\n").filter { $0.hasPrefix("NGKernels:") }
        #expect(warnings.count == 1, "\(run.stderr)")
        #expect(warnings.first?.contains("start the process with OPENBLAS_CORETYPE=\(core)") == true)

        let silenced = try ngbench(["cpu"], environment: [
            "NGPLUS_TEST_DETECTED_CORE": "Prescott", "NGPLUS_KERNEL_SELECTION": "off", "NGPLUS_KERNEL_WARNING": "off",
        ])
        #expect(silenced.stderr.isEmpty, "\(silenced.stderr)")
    }

    @Test func aCoreTheUserSetIsRespected() throws {
        let run = try ngbench(["cpu"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(run.status == 0)
        #expect(run.stderr.isEmpty, "no re-execution and no warning for a user's choice: \(run.stderr)")
        #expect(run.stdout.contains("core used     core Prescott, forced by OPENBLAS_CORETYPE=Prescott"))
    }

    @Test(.enabled(if: OpenBLAS.kernelFit.forcedCore == nil && !OpenBLAS.kernelFit.isFallback,
                   "this process's kernels were forced or are a fallback: the other tests cover that path"))
    func aCoreThatFitsIsLeftAlone() throws {
        let fit = OpenBLAS.kernelFit
        let run = try ngbench(["cpu"])
        #expect(run.status == 0)
        #expect(run.stderr.isEmpty, "\(run.stderr)")
        #expect(run.stdout.contains("core used     core \(fit.coreInUse), as OpenBLAS detected it"))
    }

    /// The suite's kernel-choice target: the 90% comparison where the kernels were a fallback
    /// (here made to look like one), "left unchanged" where OpenBLAS detected kernels at the
    /// CPU's level (the fitting core, or Cooperlake where SkylakeX fits).
    @Test(.enabled(if: hasFittingCore && OpenBLAS.kernelFit.forcedCore == nil && !OpenBLAS.kernelFit.isFallback,
                   "the detected core must be the fitting one for the second half"))
    func theKernelChoiceTargetIsJudgedOnlyWhereTheKernelsChanged() throws {
        let fittingCore = try #require(self.fittingCore)
        let fallback = try ngbench(["--quick"], environment: ["NGPLUS_TEST_DETECTED_CORE": "Prescott"])
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(fallback.stdout.contains("kernels chosen automatically (\(fittingCore)): sgemm n = 256 ≥ 90% of the fitting core forced"))
        let detected = try ngbench(["--quick"])
        #expect(detected.status == 0, "\(detected.stderr)")
        // The status column is as wide as its widest entry ("met" alone, or "MISSED" when another
        // target misses), so the row is found by its text and judged by its first word.
        let row = detected.stdout.split(separator: "\n").first {
            $0.contains("kernels as OpenBLAS detected them (\(OpenBLAS.kernelFit.coreInUse), at the CPU's level): left unchanged")
        }
        #expect(row?.split(separator: " ").first == "met", "\(detected.stdout)")
    }

    @Test(.enabled(if: hasFittingCore, "an SSE-only CPU has no fitting core to switch to"))
    func theJSONHeaderNamesTheCoresAndTheCPU() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ngbench-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try ngbench(["kernels", "--quick", "--m", "8", "--n", "8", "--batch", "4", "--json", path],
                             environment: ["NGPLUS_TEST_DETECTED_CORE": "Prescott"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let machine = try #require((object as? [String: Any])?["machine"] as? [String: Any])
        #expect(machine["openblas_core_detected"] as? String == "Prescott")
        #expect(machine["openblas_core"] as? String == fittingCore)
        #expect(machine["openblas_core_choice"] as? String == "reexecuted_after_self_check")
        let cpu = try #require(machine["cpu"] as? [String: Any])
        #expect(cpu["vendor"] as? String == CPUDescription.current.vendor)
        #expect(cpu["features"] as? [String] == CPUDescription.current.features.names)
    }
}

/// Whether this machine's CPU has a core worth switching to (every AVX CPU).
let hasFittingCore = OpenBLASCoreTable.fittingCore(for: .current) != nil
