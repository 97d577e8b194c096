import CBLAS

/// What OpenBLAS reports about itself at run time. Debian's alternatives system can swap in
/// another BLAS silently, so benchmarks print these next to every figure.
public enum OpenBLAS {
    /// The kernel family OpenBLAS picked for this CPU (for example "Cooperlake").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The build configuration string.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The number of threads BLAS calls use.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads for all later BLAS calls, process-wide. The library never
    /// calls this itself; benchmarks and applications may.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(clamping: Swift.max(1, count)))
    }
}
