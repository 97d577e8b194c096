import Synchronization

/// The package's non-BLAS loops (im2col, col2im, activations, pooling, layout changes) split
/// over as many threads as OpenBLAS uses, so that the cores BLAS calls use are not idle
/// between them (measured: a CNN epoch on 2 cores spent over half its time in such loops on
/// one thread while OpenBLAS's second thread spun). Nothing here calls BLAS.
package enum ParallelLoop {
    /// When above 0, the thread count to use instead of OpenBLAS's: tests set it so that the
    /// split paths run in a single-threaded test process.
    package static let threadCountOverride = Atomic<Int>(0)

    /// The threads a loop is split over.
    @inlinable
    package static var threadCount: Int {
        let override = threadCountOverride.load(ordering: .relaxed)
        return override > 0 ? override : OpenBLAS.threadCount
    }

    /// Calls `body` on consecutive chunks that cover `0..<count`, concurrently, one chunk per
    /// thread of `threadCount`, each at least `minimumChunk` long (fewer, larger chunks
    /// otherwise; one call on this thread when only one fits). Chunks never overlap, so a body
    /// that writes only inside its own range needs no synchronization.
    @inlinable
    package static func forEachChunk(_ count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Void) {
        forEachNumberedChunk(count, minimumChunk: minimumChunk, maximumChunks: Int.max) { _, chunk in body(chunk) }
    }

    /// `forEachChunk` for a pass whose chunks each report whether their new values are all
    /// finite: true when every chunk's were.
    @inlinable
    package static func allChunks(_ count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Bool) -> Bool {
        let all = Atomic<Bool>(true)
        forEachChunk(count, minimumChunk: minimumChunk) { chunk in
            if !body(chunk) { all.store(false, ordering: .relaxed) }
        }
        return all.load(ordering: .relaxed)
    }

    /// `forEachChunk` with at most `maximumChunks` chunks, each called with its number
    /// (0..<maximumChunks): the index of a workspace of its own, which the caller sized for
    /// `maximumChunks` before the call (the thread count may change meanwhile).
    @inlinable
    package static func forEachNumberedChunk(
        _ count: Int, minimumChunk: Int, maximumChunks: Int, _ body: (_ number: Int, Range<Int>) -> Void
    ) {
        let workers = Swift.min(threadCount, count / Swift.max(1, minimumChunk), maximumChunks)
        guard workers > 1 else {
            if count > 0 { body(0, 0..<count) }
            return
        }
        // The chunks are disjoint and the call returns only when all have run: the body is
        // shared across threads by this contract, which the type system cannot state.
        WorkerThreads.shared.run(workers) { worker in
            body(worker, ConcurrentCalls.range(ofPart: worker, of: workers, length: count))
        }
    }
}
