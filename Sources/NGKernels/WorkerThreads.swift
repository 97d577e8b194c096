#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// The threads that run a parallel region's chunks beside the thread that starts it
/// (`ParallelLoop`, `ConcurrentCalls`). A worker that has run a chunk waits for the next region
/// spinning, and yielding its core to any other thread that wants it (OpenBLAS's), for up to
/// `spinDuration` before it sleeps: a step's regions come microseconds to a few milliseconds
/// apart, and waking a sleeping thread for each cost 25–50 µs a region through Dispatch on a
/// 2-vCPU virtual machine (Zen 4), against under 1 µs from a spinning worker
/// (docs/measurements/worker-threads-2026-12-07.md) — as much as many of a step's loops take.
///
/// One region runs on the workers at a time; a region started meanwhile (by another thread, or
/// from inside a chunk) runs through Dispatch instead, as every region did before.
package final class WorkerThreads: @unchecked Sendable {
    /// The process's workers, started on first use.
    package static let shared = WorkerThreads()

    /// How long a worker that ran a chunk waits for the next region before it sleeps.
    package static let spinDuration: Duration = .milliseconds(2)

    /// The current region: its sequence number times `regionStride` plus its chunk count, in one
    /// value so that a worker reads both at once. Advanced (sequentially consistent) to start a
    /// region, after `job` is set.
    private let region = Atomic<Int>(0)
    /// Chunks a region may have, at most, and the step of its sequence number in `region`.
    private static let regionStride = 1 << 16
    /// The workers that have finished the current region's chunks.
    private let finished = Atomic<Int>(0)
    /// Whether a region owns the workers.
    private let owned = Atomic<Bool>(false)
    /// Workers asleep, or about to sleep, on `condition`.
    private let sleepers = Atomic<Int>(0)
    /// Workers started; grown only by a region's owner.
    private let started = Atomic<Int>(0)
    /// The region's body: written by the owner before it advances `region`, read by the
    /// workers that run a chunk after they see the advance, cleared once all finished.
    private nonisolated(unsafe) var job: ((Int) -> Void)?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// A pool of its own (tests); its workers, once started, live as long as the process.
    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    /// Calls `body(i)` once for every i in `0..<count`, concurrently: chunk 0 on this thread,
    /// the others on the workers (started on first need), returning when all have run.
    package func run(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        guard count < Self.regionStride,
            owned.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            return runThroughDispatch(count, body)
        }
        defer { owned.store(false, ordering: .releasing) }
        while started.load(ordering: .relaxed) < count - 1 {
            guard startWorker(index: started.load(ordering: .relaxed) + 1) else { return runThroughDispatch(count, body) }
        }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            finished.store(0, ordering: .relaxed)
            let current = region.load(ordering: .relaxed)
            region.store(
                (current / Self.regionStride + 1) * Self.regionStride + count, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            escapable(0)
            var polls = 0
            while finished.load(ordering: .acquiring) < count - 1 {
                polls += 1
                if polls & 63 == 0 { sched_yield() }
            }
            job = nil
        }
    }

    /// `run` on Dispatch's threads: for a region started while another owns the workers, one of
    /// `regionStride` chunks or more, or when the system refuses a new thread.
    private func runThroughDispatch(_ count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escapable in
            nonisolated(unsafe) let chunk = escapable
            DispatchQueue.concurrentPerform(iterations: count) { chunk($0) }
        }
    }

    /// The loop of the worker that runs chunk `index` of a region of more than `index` chunks.
    /// It spins for the next region after one it ran a chunk of, and sleeps after one it sat out
    /// (a smaller region: fewer threads than it was started for).
    private func work(index: Int, after seen: Int) {
        var seen = seen
        var ranChunk = true
        while true {
            seen = waitForRegion(after: seen, spinning: ranChunk)
            ranChunk = index < seen % Self.regionStride
            guard ranChunk else { continue }
            runChunk(index)
            finished.add(1, ordering: .releasing)
        }
    }

    /// The next region after `seen` (a value of `region`): spun for, up to `spinDuration`, when
    /// `spinning`, else (and then) slept for.
    private func waitForRegion(after seen: Int, spinning: Bool) -> Int {
        if spinning {
            let deadline = ContinuousClock.now + Self.spinDuration
            while ContinuousClock.now < deadline {
                for _ in 0..<64 {
                    let current = region.load(ordering: .acquiring)
                    if current != seen { return current }
                }
                sched_yield()
            }
        }
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while region.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(condition, mutex) }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        return region.load(ordering: .acquiring)
    }

    /// Runs the region's chunk `index`; its copy of the body is released on return, before the
    /// worker reports it finished (the owner's `withoutActuallyEscaping` checks that none is
    /// left).
    @inline(never)
    private func runChunk(_ index: Int) {
        job?(index)
    }

    /// Starts the worker of chunk `index`; false when the system refuses the thread.
    private func startWorker(index: Int) -> Bool {
        let start = Unmanaged.passRetained(
            WorkerStart(threads: self, index: index, region: region.load(ordering: .relaxed))
        ).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let status = pthread_create(&thread, nil, { argument in
            #if canImport(Glibc)
            let start = Unmanaged<WorkerStart>.fromOpaque(argument!).takeRetainedValue()
            #else
            let start = Unmanaged<WorkerStart>.fromOpaque(argument).takeRetainedValue()
            #endif
            start.threads.work(index: start.index, after: start.region)
            return nil
        }, start)
        guard status == 0 else {
            Unmanaged<WorkerStart>.fromOpaque(start).release()
            return false
        }
        #if canImport(Glibc)
        pthread_detach(thread)
        #else
        pthread_detach(thread!)
        #endif
        started.add(1, ordering: .relaxed)
        return true
    }
}

/// What a new worker thread is handed: its pool, its chunk index, and the last region before
/// it (the owner that starts it starts the next).
private final class WorkerStart {
    let threads: WorkerThreads
    let index: Int
    let region: Int

    init(threads: WorkerThreads, index: Int, region: Int) {
        (self.threads, self.index, self.region) = (threads, index, region)
    }
}
