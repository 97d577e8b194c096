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
                let chunks = recordedChunks(count, minimumChunk: minimum)
                let label = Comment(rawValue: "count \(count) minimum \(minimum): \(chunks)")
                #expect(chunks.first?.lowerBound ?? 0 == 0, label)
                #expect(chunks.last?.upperBound ?? 0 == count, label)
                #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, label)
                #expect(chunks.allSatisfy { $0.count >= min(count, minimum) }, label)
            }
        }
    }

    /// Numbered chunks: no more than asked, each number once and below the maximum, the
    /// chunks still covering the range in order of their numbers.
    @Test func numberedChunksHaveDistinctNumbersBelowTheMaximum() {
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        for count in [0, 1, 5, 64] {
            for maximum in [1, 2, 8] {
                let slots = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: maximum)
                defer { slots.deallocate() }
                slots.initialize(repeating: nil)
                let calls = Atomic<Int>(0)
                ParallelLoop.forEachNumberedChunk(count, minimumChunk: 1, maximumChunks: maximum) { number, chunk in
                    precondition(number >= 0 && number < maximum, "chunk number \(number) of at most \(maximum)")
                    _ = calls.add(1, ordering: .relaxed)
                    slots[number] = chunk
                }
                let chunks = slots.compactMap { $0 }
                let label = Comment(rawValue: "count \(count) maximum \(maximum): \(chunks)")
                #expect(chunks.count == calls.load(ordering: .relaxed), label)
                #expect(chunks.count <= maximum, label)
                #expect(chunks.first?.lowerBound ?? 0 == 0, label)
                #expect(chunks.last?.upperBound ?? 0 == count, label)
                #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, label)
            }
        }
    }

    /// The chunks `forEachChunk` calls its body with, in order. Each call claims a slot with an
    /// atomic counter and writes only that slot; the call's return orders those writes before
    /// the reads here. (A `Mutex` would do as well, but the thread sanitizer cannot see its
    /// futex on Linux and reports its accesses as a race.)
    private func recordedChunks(_ count: Int, minimumChunk: Int) -> [Range<Int>] {
        // Every chunk is at least one index long, so there are at most `count` of them.
        let slots = UnsafeMutableBufferPointer<Range<Int>>.allocate(capacity: max(count, 1))
        defer { slots.deallocate() }
        let claimed = Atomic<Int>(0)
        ParallelLoop.forEachChunk(count, minimumChunk: minimumChunk) { chunk in
            let slot = claimed.add(1, ordering: .relaxed).oldValue
            precondition(slot < slots.count, "more chunks than indices")
            (slots.baseAddress! + slot).initialize(to: chunk)
        }
        let written = claimed.load(ordering: .relaxed)
        return slots[..<written].sorted { $0.lowerBound < $1.lowerBound }
    }
}
