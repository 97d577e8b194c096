import Synchronization

/// The one line NGKernels writes to stderr, once per process, when OpenBLAS runs kernels
/// below what the CPU offers and the user did not choose them. Emitted at the first call of a
/// validated BLAS wrapper or the creation of a kernel object (GFIM builders, inverses).
@usableFromInline
package enum KernelFitWarning {
    private static let silenced = Atomic<Bool>(false)

    /// The warning for `fit`, or nil when there is nothing to say or it is silenced by
    /// `NGPLUS_KERNEL_WARNING=off`.
    package static func message(for fit: KernelFit, warningSetting: String?) -> String? {
        guard let fix = fit.fix, warningSetting?.lowercased() != "off" else { return nil }
        return "NGKernels: OpenBLAS runs its \(fit.coreInUse) kernels on \(fit.cpu.vendor) family "
            + "\(fit.cpu.family) model \(fit.cpu.model), which offers \(fit.cpu.features.vectorLevel): "
            + "start the process with \(fix) for the fitting kernels "
            + "(\(ProcessEnvironment.kernelWarning)=off or OpenBLAS.silenceKernelWarning() silences this line)"
    }

    package static func silence() { silenced.store(true, ordering: .relaxed) }

    /// Writes the warning the first time it is called in a process, if there is one.
    @usableFromInline
    package static func emitOnce() { _ = emitted }

    private static let emitted: Bool = {
        guard !silenced.load(ordering: .relaxed),
              let line = message(for: OpenBLAS.kernelFit,
                                 warningSetting: ProcessEnvironment.value(ProcessEnvironment.kernelWarning))
        else { return false }
        ProcessEnvironment.writeLine(line)
        return true
    }()
}
