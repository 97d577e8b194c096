import Synchronization

/// Independent BLAS or LAPACK calls of one step spread over the cores, each call on one core
/// with OpenBLAS on one thread, for work that OpenBLAS's own threads split poorly. SYEVD's
/// reduction to tridiagonal form is matrix-vector work that two threads do not speed up: on
/// Zen 4 it took 0.47 ms at order 128 on one thread and 2.2–3.4 ms on two, 15 against 22 ms at
/// order 512, 120 against 106 ms at 1,024; and a SYRK of order 289 over 1,764 columns ran at
/// 111 GFLOP/s on two threads, 166 as two halves on one thread each
/// (docs/measurements/shampoo-roots-2026-12-06.md). And a step's mid-sized products, cut into
/// `parts` (`BLAS.gemmOnWorkers`): the worker threads are awake between a step's calls, where
/// OpenBLAS's second thread sleeps (docs/measurements/worker-threads-2026-12-07.md).
package enum ConcurrentCalls {
    /// The parts a product of `length` rows (or columns) is cut into for `forEach`: one for
    /// every 64, at most 4 — a function of the shape alone, never of the thread count, so that
    /// a result cut this way has the same bits on any number of threads. Each part packs the
    /// whole of the other operand again: eight parts of a 1,024³ product ran at 262–264 GFLOP/s,
    /// four at 286–293, OpenBLAS's own two threads at 307 (Intel, 2 threads:
    /// docs/measurements/product-parts-2026-12-08.md). Four still feeds four cores.
    @inlinable
    package static func parts(of length: Int) -> Int {
        Swift.max(1, Swift.min(4, length / 64))
    }

    /// Part `part` of `0..<length` cut into `parts` consecutive ranges of near-equal length.
    @inlinable
    package static func range(ofPart part: Int, of parts: Int, length: Int) -> Range<Int> {
        (length * part / parts)..<(length * (part + 1) / parts)
    }

    /// Calls `body(i)` exactly once for every i in `0..<count`, with OpenBLAS on one thread:
    /// concurrently on `ParallelLoop.threadCount` threads, each taking the next index when it
    /// is free (so callers list the costliest calls first), when `work` — the calls'
    /// multiply-adds together — is at least 2²⁰ (below, starting the threads costs more than
    /// it saves); in order on this thread otherwise. Calls must not share mutable state.
    @inlinable
    package static func forEach(_ count: Int, work: Double, _ body: (Int) -> Void) {
        let workers = work >= Double(1 << 20) ? Swift.min(ParallelLoop.threadCount, count) : 1
        OpenBLAS.withOneThreadPerCall {
            guard workers > 1 else {
                for index in 0..<count { body(index) }
                return
            }
            let next = Atomic<Int>(0)
            // Each index is taken by one thread (the atomic counter) and the call returns only
            // when all have run: the body is shared by this contract.
            WorkerThreads.shared.run(workers) { _ in
                while case let index = next.add(1, ordering: .relaxed).oldValue, index < count { body(index) }
            }
        }
    }
}
