extension KernelSelection {
    /// `ensureFittingKernels(announce:selfCheck:)` with `KernelSelfCheck`: GEMM and Cholesky
    /// of the candidate core against plain-loop references. Call it first thing in `main`.
    public static func ensureFittingKernels(announce: ((String) -> Void)? = nil) -> KernelSelection {
        ensureFittingKernels(announce: announce) {
            let check = KernelSelfCheck.run()
            return (check.passed, check.summary)
        }
    }
}
