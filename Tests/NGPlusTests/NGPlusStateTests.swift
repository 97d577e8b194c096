import Foundation
import NGPlus
import NGTestSupport
import Testing

/// Saving and restoring NG+: bit-identical resumption; a bad state is refused and changes nothing.
@Suite struct NGPlusStateTests: TrainedOptimizerFixture {
    @Test func resumingFromASavedStateGivesBitIdenticalSteps() throws {
        let (optimizer, handles, weights) = try trainedOptimizer()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ngplus-resume-\(UUID()).state")
        defer { try? FileManager.default.removeItem(at: url) }
        try optimizer.save(to: url)
        let specs = try specsOfTrainedOptimizer()
        var generator = SeededGenerator(seed: 99)
        var continued = weights
        var first = optimizer
        for _ in 0..<4 { try step(&first, handles, specs, &continued, &generator) }

        var (resumed, _, _) = try freshOptimizer()
        try resumed.load(from: url)
        #expect(resumed.stateBytes() == optimizer.stateBytes())
        generator = SeededGenerator(seed: 99)
        var again = weights
        for _ in 0..<4 { try step(&resumed, handles, specs, &again, &generator) }
        #expect(again == continued)
        #expect(resumed.stateBytes() == first.stateBytes())
    }

    /// The same for Woodbury layers (right side: rank 4 < 21/2), whose state is U and C⁻¹·U.
    @Test func resumingAWoodburyOptimizerGivesBitIdenticalSteps() throws {
        func make() throws -> (NGPlusOptimizer<Float>, LayerHandle) {
            var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                inverseInterval: 2, side: .right, batchSize: 4, fusedApply: true))
            let layer = try optimizer.register(.dense(outputs: 3, inputs: 20, bias: true))
            #expect(try optimizer.plan(for: layer)?.method == .woodbury)
            return (optimizer, layer)
        }
        func steps(_ count: Int, _ optimizer: inout NGPlusOptimizer<Float>, _ layer: LayerHandle,
                   _ weight: inout Matrix<Float>, seed: UInt64) throws {
            var generator = SeededGenerator(seed: seed)
            for _ in 0..<count {
                let x = Matrix<Float>.random(rows: 4, columns: 20, using: &generator)
                let dy = Matrix<Float>.random(rows: 4, columns: 3, scale: 0.1, using: &generator)
                try optimizer.observe(layer, inputs: x, outputGradients: dy)
                try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
            }
        }
        var (optimizer, layer) = try make()
        var weight = Matrix<Float>(rows: 3, columns: 21, repeating: 0.1)
        try steps(3, &optimizer, layer, &weight, seed: 1)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ngplus-woodbury-\(UUID()).state")
        defer { try? FileManager.default.removeItem(at: url) }
        try optimizer.save(to: url)
        var continued = weight
        try steps(4, &optimizer, layer, &continued, seed: 2)

        var (resumed, _) = try make()
        try resumed.load(from: url)
        var again = weight
        try steps(4, &resumed, layer, &again, seed: 2)
        #expect(again == continued)
        #expect(resumed.stateBytes() == optimizer.stateBytes())
    }

    @Test func corruptTruncatedOrMismatchedStatesAreRejectedAndChangeNothing() throws {
        let (optimizer, _, _) = try trainedOptimizer()
        let good = optimizer.stateBytes()
        var (target, _, _) = try freshOptimizer()
        let before = target.stateBytes()
        let op: NGError.Operation = "NGPlusOptimizer.load"

        var flipped = good
        flipped[good.count / 2] ^= 0x40
        #expect(throws: NGError.corruptState(operation: op, reason: "checksum mismatch: the file is truncated or damaged")) {
            try target.restore(stateBytes: flipped)
        }
        #expect(throws: NGError.self) { try target.restore(stateBytes: Array(good.prefix(good.count - 100))) }
        #expect(throws: NGError.self) { try target.restore(stateBytes: Array(good.prefix(10))) }
        #expect(throws: NGError.corruptState(operation: op, reason: "not an NGPlus state file (no NGPS magic)")) {
            try target.restore(stateBytes: Array("hello, this is not a state file".utf8))
        }
        var other = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, runningAverage: 0.5, batchSize: 4))
        _ = try other.register(.dense(outputs: 3, inputs: 6, bias: true))
        #expect(throws: NGError.self) { try other.restore(stateBytes: good) }
        var double = try NGPlusOptimizer<Double>()
        #expect(throws: NGError.corruptState(operation: op, reason: "saved in Float, not Double")) {
            try double.restore(stateBytes: good)
        }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID()).state")
        let error = #expect(throws: OptimizerError.self) { try target.load(from: missing) }
        guard case let .fileError(operation, path, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(operation == "load" && path == missing.path)
        #expect(target.stateBytes() == before)
    }
}
