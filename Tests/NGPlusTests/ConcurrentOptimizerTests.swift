import Dispatch
import NGPlus
import NGTestSupport
import Testing

/// The optimizers are `Sendable` values: copies of one optimizer stepped on several threads at
/// once (each refreshing its inverses, sharing the inputs read-only) give exactly the result a
/// single thread gives. `scripts/sanitize` runs this under the thread sanitizer.
@Suite struct ConcurrentOptimizerTests {
    @Test func copiesSteppedOnSeveralThreadsMatchOneThread() throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 8))
        let specs: [LayerSpec] = [.dense(outputs: 12, inputs: 20, bias: true), .matrix(rows: 6, columns: 5)]
        let handles = try specs.map { spec throws(NGError) in try optimizer.register(spec) }
        var generator = SeededGenerator(seed: 29)
        let x = Matrix<Float>.random(rows: 8, columns: 20, using: &generator)
        let dy = Matrix<Float>.random(rows: 8, columns: 12, scale: 0.1, using: &generator)
        let gradient = Matrix<Float>.random(rows: 6, columns: 5, using: &generator)
        let start = [Matrix<Float>.random(rows: 12, columns: 21, using: &generator), .random(rows: 6, columns: 5, using: &generator)]
        let initial = optimizer

        @Sendable func run(_ optimizer: NGPlusOptimizer<Float>) throws -> [UInt8] {
            var optimizer = optimizer
            var weights = start
            for _ in 0..<6 {
                if optimizer.usesObservation(handles[0]) { try optimizer.observe(handles[0], inputs: x, outputGradients: dy) }
                try optimizer.step(handles[0], weight: &weights[0], inputs: x, outputGradients: dy)
                try optimizer.step(handles[1], weight: &weights[1], gradient: gradient)
            }
            return optimizer.stateBytes()
        }
        let expected = try run(initial)
        let threads = 4
        // One slot per thread, written by that thread only.
        let results = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: threads)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            slots[i] = (try? run(initial)) ?? []
        }
        #expect(results.allSatisfy { $0 == expected })
    }
}
