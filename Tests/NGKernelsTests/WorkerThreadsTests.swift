#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import NGKernels
import Testing

@Suite struct WorkerThreadsTests {
    /// A pool of the test's own: other tests' regions do not take it.
    let workers = WorkerThreads()

    /// Every chunk of every region runs exactly once, region after region (the workers spinning
    /// between them), for several chunk counts — the workers grow to the largest.
    @Test func everyChunkOnceInManyRegions() {
        for count in [2, 3, 5, 2] {
            let regions = 2_000
            let visits = Counters(count)
            for _ in 0..<regions { workers.run(count) { visits.add(at: $0) } }
            #expect(visits.values == Array(repeating: regions, count: count), "\(count) chunks")
        }
    }

    /// A region after the workers have gone to sleep (past `spinDuration`) still runs every
    /// chunk: they are woken.
    @Test func regionsAfterTheWorkersSleep() {
        let visits = Counters(3)
        let pause = WorkerThreads.spinDuration * 3
        for _ in 0..<10 {
            workers.run(3) { visits.add(at: $0) }
            let deadline = ContinuousClock.now + pause
            while ContinuousClock.now < deadline { usleep(500) }
        }
        #expect(visits.values == [10, 10, 10])
    }

    /// A region's chunks run at the same time, on different threads: chunk 0 waits (up to
    /// 2 s) for chunk 1 to have started, which it could not do if chunk 1 ran after it on the
    /// same thread.
    @Test func chunksRunAtTheSameTime() {
        var concurrent = 0
        for _ in 0..<20 {
            let started = Atomic<Bool>(false)
            let caller = pthread_self()
            let elsewhere = Atomic<Bool>(false)
            let sawIt = Atomic<Bool>(false)
            workers.run(2) { index in
                if index == 1 {
                    elsewhere.store(pthread_equal(pthread_self(), caller) == 0, ordering: .relaxed)
                    started.store(true, ordering: .releasing)
                    return
                }
                let deadline = ContinuousClock.now + .seconds(2)
                while !started.load(ordering: .acquiring) && ContinuousClock.now < deadline {}
                sawIt.store(started.load(ordering: .acquiring), ordering: .relaxed)
            }
            guard sawIt.load(ordering: .relaxed) && elsewhere.load(ordering: .relaxed) else { break }
            concurrent += 1
        }
        #expect(concurrent == 20)
    }

    /// Regions started at once from several threads, and regions started inside a chunk, each
    /// run every chunk once: one owns the workers, the others run through Dispatch.
    @Test func concurrentAndNestedRegionsRunEveryChunk() {
        let (owners, regions) = (4, 300)
        let outer = Counters(owners * 3)
        let inner = Counters(2)
        DispatchQueue.concurrentPerform(iterations: owners) { owner in
            for _ in 0..<regions {
                workers.run(3) { index in
                    outer.add(at: owner * 3 + index)
                    if index == 1 { workers.run(2) { inner.add(at: $0) } }
                }
            }
        }
        #expect(outer.values == Array(repeating: regions, count: owners * 3))
        #expect(inner.values == Array(repeating: owners * regions, count: 2))
    }
}

/// Atomic counters, one per index, that chunks on any thread add to.
private final class Counters: Sendable {
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private let counters: [Counter]

    init(_ count: Int) {
        counters = (0..<count).map { _ in Counter() }
    }

    func add(at index: Int) {
        counters[index].value.add(1, ordering: .relaxed)
    }

    var values: [Int] { counters.map { $0.value.load(ordering: .relaxed) } }
}
