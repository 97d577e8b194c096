#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process environment variables NGKernels reads. The `NGPLUS_TEST_…` ones exist so that
/// tests can drive the kernel-selection paths on any machine; users never need them.
package enum ProcessEnvironment {
    /// `OPENBLAS_CORETYPE`: the core a user forces (read by OpenBLAS itself when it loads).
    package static let coreType = "OPENBLAS_CORETYPE"
    /// `NGPLUS_KERNEL_WARNING=off` silences the once-per-process fallback warning.
    package static let kernelWarning = "NGPLUS_KERNEL_WARNING"
    /// `NGPLUS_KERNEL_SELECTION=off`: executables keep whatever core OpenBLAS picked.
    package static let kernelSelection = "NGPLUS_KERNEL_SELECTION"
    /// Set by `KernelSelection` in a child process that only runs the self-check.
    package static let selfCheckChild = "NGPLUS_KERNEL_SELF_CHECK"
    /// Set by `KernelSelection` when it re-executes a process: the core OpenBLAS had detected.
    package static let reexecutedFrom = "NGPLUS_KERNELS_REEXECUTED_FROM"
    /// Test hook: the core to report as OpenBLAS's own choice when `OPENBLAS_CORETYPE` is unset.
    package static let testDetectedCore = "NGPLUS_TEST_DETECTED_CORE"
    /// Test hook: `1` makes the numerical self-check see a wrong GEMM element.
    package static let testCorruptSelfCheck = "NGPLUS_TEST_CORRUPT_SELF_CHECK"

    /// The value of `name`, nil when unset.
    package static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Writes `line` and a newline to file descriptor 2 (stderr) or 1 (stdout), unbuffered.
    package static func writeLine(_ line: String, toDescriptor descriptor: Int32 = 2) {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }
}
