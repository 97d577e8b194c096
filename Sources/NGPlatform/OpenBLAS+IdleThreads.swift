import Glibc

extension OpenBLAS {
    /// The variable OpenBLAS reads for how long its idle threads spin.
    static let threadTimeoutVariable = "OPENBLAS_THREAD_TIMEOUT"

    /// How long OpenBLAS's idle threads spin before they sleep, as it last read
    /// `OPENBLAS_THREAD_TIMEOUT`: 2^exponent cycles (it clamps the exponent to 4...30), or nil
    /// for its default of 2²⁸ cycles (about 0.1 s) — or when this BLAS does not say.
    public static var idleThreadTimeout: Int? {
        guard let read = symbol("openblas_thread_timeout", as: (@convention(c) () -> Int32).self) else { return nil }
        let exponent = Int(read())
        return exponent > 0 ? Swift.min(Swift.max(exponent, 4), 30) : nil
    }

    /// Has OpenBLAS's idle threads spin 2^exponent cycles (clamped to 4...30) before they sleep,
    /// instead of its default 2²⁸: a training loop whose own loops share the cores between BLAS
    /// calls loses them to threads that spin (about 10% of a CNN epoch here). OpenBLAS reads
    /// `OPENBLAS_THREAD_TIMEOUT` only when it starts its threads, so this sets the variable,
    /// has OpenBLAS read its environment again (`openblas_read_env`) and stops its thread pool
    /// (`blas_thread_shutdown_`), which the next threaded call starts anew. Call it before
    /// training, with no BLAS call running on another thread. Returns false, changing nothing,
    /// when the user set `OPENBLAS_THREAD_TIMEOUT` (theirs stands) or when this BLAS lacks
    /// those entry points (another BLAS, or an OpenBLAS built without threads).
    @discardableResult
    public static func setIdleThreadTimeout(exponent: Int) -> Bool {
        guard ProcessEnvironment.value(threadTimeoutVariable) == nil,
              let readEnvironment = symbol("openblas_read_env", as: (@convention(c) () -> Void).self),
              let shutdown = symbol("blas_thread_shutdown_", as: (@convention(c) () -> Int32).self)
        else { return false }
        setenv(threadTimeoutVariable, "\(Swift.min(Swift.max(exponent, 4), 30))", 1)
        readEnvironment()
        _ = shutdown()
        return true
    }

    /// An OpenBLAS function looked up at run time (not in its headers).
    static func symbol<Function>(_ name: String, as type: Function.Type) -> Function? {
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }
}
