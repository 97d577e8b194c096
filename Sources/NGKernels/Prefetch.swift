import CFloatMath

/// Asks the caches for the lines of the `count` values from `values` (`ngplus_prefetch_run`: the
/// first 8 lines of a longer run, after which the hardware's own prefetch follows it). A sparse
/// step and an embedding lookup read rows scattered over tables larger than the caches: each
/// row waits for its misses unless they were started some rows before. Changes no value.
@inlinable
package func prefetch<Scalar>(_ values: UnsafePointer<Scalar>, count: Int) {
    ngplus_prefetch_run(values, count * MemoryLayout<Scalar>.stride)
}

/// How many rows ahead of its reads a loop over scattered rows prefetches them: enough misses
/// in flight to cover a miss's latency with the rows before it (a 16-value row's update takes
/// a few nanoseconds once its lines are in cache), few enough that the lines are still there
/// when read (docs/measurements/sparse-rows-2026-12-07.md).
@usableFromInline package let prefetchRowsAhead = 8

extension MatrixView {
    /// `prefetch` of row `row`.
    @inlinable
    package func prefetchRow(_ row: Int) {
        prefetch(base + row * leadingDimension, count: columns)
    }
}
