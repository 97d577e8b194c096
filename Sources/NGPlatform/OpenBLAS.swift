import CBLAS

/// What OpenBLAS reports about itself at run time, and whether its kernels fit this CPU.
/// Debian's alternatives system can swap in another BLAS silently, so benchmarks print these
/// next to every figure.
public enum OpenBLAS {
    /// The kernel family OpenBLAS picked for this CPU (for example "Cooperlake").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The build configuration string, for example
    /// "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The number of threads BLAS calls use.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads for all later BLAS calls, process-wide. The library calls it
    /// only inside `withOneThreadPerCall`; benchmarks and applications may.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(clamping: Swift.max(1, count)))
    }

    /// Runs `body` with every BLAS call on the thread that makes it, then restores the thread
    /// count: for independent calls that the caller runs concurrently on threads of its own.
    /// Process-wide while `body` runs, so no BLAS call should run meanwhile on another thread
    /// that expects the old count.
    public static func withOneThreadPerCall<Result>(_ body: () -> Result) -> Result {
        let count = threadCount
        guard count > 1 else { return body() }
        setThreadCount(1)
        defer { setThreadCount(count) }
        return body()
    }

    /// Whether this process's kernels fit its CPU: `CPUDescription.current`, `coreName`, and
    /// `OPENBLAS_CORETYPE` if the user set it. A training loop can log it; NGKernels prints
    /// one line on stderr by itself when it is a fallback (`silenceKernelWarning()`).
    public static var kernelFit: KernelFit {
        let forced = ProcessEnvironment.value(ProcessEnvironment.coreType)
        let detected = forced == nil ? ProcessEnvironment.value(ProcessEnvironment.testDetectedCore) : nil
        return KernelFit(cpu: .current, coreInUse: detected ?? coreName, forcedCore: forced)
    }

    /// Stops the once-per-process warning about fallback kernels, when called before the first
    /// NGKernels call (`NGPLUS_KERNEL_WARNING=off` in the environment does the same).
    public static func silenceKernelWarning() {
        KernelFitWarning.silence()
    }
}
