import Synchronization
import NGKernels
import Testing

@Suite struct ParallelLoopTests {
    /// Every index is visited exactly once, in disjoint consecutive chunks no shorter than
    /// asked (unless the whole range is shorter), whatever the thread count.
    @Test func chunksCoverTheRangeOnceAndAreDisjoint() {
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            for minimum in [1, 4, 100] {
                let visits = Mutex([Int](repeating: 0, count: count))
                let shortest = Mutex(Int.max)
                ParallelLoop.forEachChunk(count, minimumChunk: minimum) { chunk in
                    visits.withLock { for i in chunk { $0[i] += 1 } }
                    shortest.withLock { $0 = min($0, chunk.count) }
                }
                #expect(visits.withLock { $0.allSatisfy { $0 == 1 } }, "count \(count) minimum \(minimum)")
                if count > 0 { #expect(shortest.withLock { $0 } >= min(count, minimum)) }
            }
        }
    }
}
