#if canImport(Glibc)
import Glibc
#endif

/// The fitting OpenBLAS kernels for an executable, chosen before it does any work.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` once, when it loads, so a process cannot change its
/// kernels afterwards; it can re-execute itself with the variable set. `ensureFittingKernels()`
/// does that, first thing in `main`, when the kernels are a fallback (`KernelFit.isFallback`):
///
/// 1. It starts this executable again as a child with `OPENBLAS_CORETYPE` set to the fitting
///    core, which only runs the self-check it is given (NGKernels' `KernelSelfCheck`) and
///    reports the core it got. A core the library
///    does not accept (it reports another), that fails the check, or that kills the child
///    (an instruction the CPU lacks) is not used.
/// 2. It writes one line on stderr and replaces this process with the same executable, the
///    same arguments and `OPENBLAS_CORETYPE` set.
///
/// It changes nothing when the user set `OPENBLAS_CORETYPE` (even to the empty string),
/// when `NGPLUS_KERNEL_SELECTION=off`, or when the kernels already fit.
public struct KernelSelection: Sendable, Equatable {
    /// What happened.
    public enum Decision: Sendable, Equatable {
        /// OpenBLAS's own choice fits the CPU, or nothing better is known.
        case detected
        /// The user set `OPENBLAS_CORETYPE`; it is respected as it is.
        case forcedByUser
        /// This process was re-executed with the fitting core, which passed its self-check.
        case reexecuted
        /// The kernels are a fallback and stay: the fitting core was not usable (the reason).
        case keptFallback(reason: String)
        /// `NGPLUS_KERNEL_SELECTION=off`: nothing was tried.
        case disabled
    }

    /// What happened.
    public let decision: Decision
    /// The core OpenBLAS chose by itself, when known (after a re-execution, the one it chose
    /// before; nil when the user forced a core, since OpenBLAS then never detects).
    public let detectedCore: String?
    /// The fit of the kernels this process runs now.
    public let fit: KernelFit

    /// One line for a log or a report header.
    public var summary: String {
        let used = "core \(fit.coreInUse)"
        switch decision {
        case .detected: return "\(used), as OpenBLAS detected it"
        case .forcedByUser: return "\(used), forced by \(ProcessEnvironment.coreType)=\(fit.forcedCore ?? "")"
        case .reexecuted:
            return "\(used), chosen for this CPU after a self-check (OpenBLAS had detected \(detectedCore ?? "?"))"
        case .keptFallback(let reason): return "\(used), a fallback kept: \(reason)"
        case .disabled: return "\(used), as OpenBLAS chose it (\(ProcessEnvironment.kernelSelection)=off)"
        }
    }

    /// Chooses the kernels as described above; never returns when it re-executes. In the child
    /// it starts for the self-check, runs `selfCheck`, prints its result and exits.
    /// - Parameters:
    ///   - announce: where the one line about a change goes (nil: stderr).
    ///   - selfCheck: the check of the kernels a candidate core runs: whether it passed, and a
    ///     line saying what was checked.
    public static func ensureFittingKernels(
        announce: ((String) -> Void)? = nil, selfCheck: () -> (passed: Bool, summary: String)
    ) -> KernelSelection {
        let announce = announce ?? { ProcessEnvironment.writeLine($0) }
        if ProcessEnvironment.value(ProcessEnvironment.selfCheckChild) == "1" { runSelfCheckChild(selfCheck) }
        let fit = OpenBLAS.kernelFit
        if ProcessEnvironment.value(ProcessEnvironment.kernelSelection)?.lowercased() == "off" {
            return KernelSelection(decision: .disabled, detectedCore: fit.coreInUse, fit: fit)
        }
        if let before = ProcessEnvironment.value(ProcessEnvironment.reexecutedFrom) {
            return KernelSelection(decision: .reexecuted, detectedCore: before, fit: fit)
        }
        if fit.forcedCore != nil {
            return KernelSelection(decision: .forcedByUser, detectedCore: nil, fit: fit)
        }
        guard fit.isFallback, let candidate = fit.fittingCore else {
            return KernelSelection(decision: .detected, detectedCore: fit.coreInUse, fit: fit)
        }
        let program = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "NGKernels"
        let problem = candidateProblem(candidate)
        if problem == nil {
            announce("\(program): OpenBLAS picked its \(fit.coreInUse) kernels on \(fit.cpu.vendor) family "
                + "\(fit.cpu.family) model \(fit.cpu.model) (\(fit.cpu.features.vectorLevel)); re-running with "
                + "\(ProcessEnvironment.coreType)=\(candidate), which passed its self-check")
            let environment = ChildProcess.environment(applying: [
                ProcessEnvironment.coreType: candidate,
                ProcessEnvironment.reexecutedFrom: fit.coreInUse,
                ProcessEnvironment.testDetectedCore: nil,
            ])
            let error = ChildProcess.replaceProcess(environment: environment)
            let reason = "re-executing failed (errno \(error))"
            announce("\(program): kept the \(fit.coreInUse) kernels: \(reason)")
            KernelFitWarning.silence()
            return KernelSelection(decision: .keptFallback(reason: reason), detectedCore: fit.coreInUse, fit: fit)
        }
        let reason = "\(candidate) \(problem!)"
        announce("\(program): kept OpenBLAS's \(fit.coreInUse) kernels, below this CPU's "
            + "\(fit.cpu.features.vectorLevel): \(reason)")
        KernelFitWarning.silence()
        return KernelSelection(decision: .keptFallback(reason: reason), detectedCore: fit.coreInUse, fit: fit)
    }

    /// Why `candidate` cannot be used, from a child that runs the self-check with it; nil when
    /// it can.
    static func candidateProblem(_ candidate: String) -> String? {
        let environment = ChildProcess.environment(applying: [
            ProcessEnvironment.coreType: candidate,
            ProcessEnvironment.selfCheckChild: "1",
            ProcessEnvironment.testDetectedCore: nil,
        ])
        guard let outcome = ChildProcess.run(arguments: [], environment: environment, timeLimit: 60) else {
            return "could not be tried: the self-check process did not start"
        }
        if outcome.timedOut { return "did not finish its self-check within 60 s" }
        if let signal = outcome.signal { return "killed its self-check process (signal \(signal))" }
        let fields = outcome.output.split(separator: "\n").first.map { $0.split(separator: "\t").map(String.init) } ?? []
        guard fields.count == 3 else { return "gave an unreadable self-check report (exit \(outcome.exitStatus ?? -1))" }
        if fields[0].lowercased() != candidate.lowercased() {
            return "is not accepted by this OpenBLAS (it ran \(fields[0]) instead)"
        }
        if fields[1] != "passed" { return "failed its self-check: \(fields[2])" }
        return nil
    }

    /// The child's whole life: check, report `core<TAB>passed|failed<TAB>detail`, exit.
    private static func runSelfCheckChild(_ selfCheck: () -> (passed: Bool, summary: String)) -> Never {
        let check = selfCheck()
        let detail = check.summary
        ProcessEnvironment.writeLine(
            "\(OpenBLAS.coreName)\t\(check.passed ? "passed" : "failed")\t\(detail)", toDescriptor: 1)
        exit(check.passed ? 0 : 1)
    }
}
