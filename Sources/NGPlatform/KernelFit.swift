/// Whether the BLAS kernels a process runs are what its CPU supports.
///
/// Built from a CPU description, the core OpenBLAS runs and the `OPENBLAS_CORETYPE` the user
/// set (if any), so that every row of the decision can be tested with synthetic CPUs;
/// `OpenBLAS.kernelFit` is the one of this process.
public struct KernelFit: Sendable, Equatable, CustomStringConvertible {
    /// The processor.
    public let cpu: CPUDescription
    /// The core OpenBLAS runs (`openblas_get_corename()`).
    public let coreInUse: String
    /// The value of `OPENBLAS_CORETYPE` when the user set it: OpenBLAS ran that instead of
    /// detecting.
    public let forcedCore: String?
    /// The core that fits the CPU (`OpenBLASCoreTable.fittingCore(for:)`).
    public let fittingCore: String?

    /// The fit of `coreInUse` on `cpu`; `forcedCore` is `OPENBLAS_CORETYPE` when set.
    public init(cpu: CPUDescription, coreInUse: String, forcedCore: String?) {
        self.cpu = cpu
        self.coreInUse = coreInUse
        self.forcedCore = forcedCore
        self.fittingCore = OpenBLASCoreTable.fittingCore(for: cpu)
    }

    /// True when the kernels in use need less than the CPU offers, so a fitting core would be
    /// faster: the core's level is known and below the fitting core's. A core this table does
    /// not know is never judged.
    public var isBelowCPU: Bool {
        guard let used = OpenBLASCoreTable.vectorLevel(ofCore: coreInUse),
              let fittingCore, let best = OpenBLASCoreTable.vectorLevel(ofCore: fittingCore)
        else { return false }
        return used < best
    }

    /// True when a process should switch cores: the kernels are below the CPU and the user
    /// did not choose them.
    public var isFallback: Bool { isBelowCPU && forcedCore == nil }

    /// The exact fix for a fallback, e.g. "OPENBLAS_CORETYPE=SkylakeX"; nil otherwise.
    public var fix: String? {
        guard isFallback, let fittingCore else { return nil }
        return "\(ProcessEnvironment.coreType)=\(fittingCore)"
    }

    /// One line: the core, the CPU, and the verdict.
    public var description: String {
        let level = OpenBLASCoreTable.vectorLevel(ofCore: coreInUse).map { " (\($0))" } ?? ""
        let cpuLevel = cpu.features.vectorLevel
        let how = forcedCore.map { " forced by \(ProcessEnvironment.coreType)=\($0)" } ?? ""
        let verdict: String
        if let fix {
            verdict = "below this CPU's \(cpuLevel): \(fix) fits"
        } else if isBelowCPU {
            verdict = "below this CPU's \(cpuLevel), as the user chose"
        } else if OpenBLASCoreTable.vectorLevel(ofCore: coreInUse) == nil {
            verdict = "a core this package does not know; not judged"
        } else {
            verdict = "fits this CPU (\(cpuLevel))"
        }
        return "OpenBLAS core \(coreInUse)\(level)\(how) on \(cpu.vendor) family \(cpu.family) model \(cpu.model): \(verdict)"
    }
}
