import Foundation
import NGPlus
import NGTestSupport
import Testing

@Suite struct NGPlusErrorTests {
    /// A small optimizer with a dense, a conv, a matrix and a vector layer after three steps.
    func trainedOptimizer() throws -> (NGPlusOptimizer<Float>, [LayerHandle], [Matrix<Float>]) {
        var (optimizer, handles, specs) = try freshOptimizer()
        var generator = SeededGenerator(seed: 81)
        var weights = specs.map { Matrix<Float>.random(rows: $0.parameterShape.rows, columns: $0.parameterShape.columns, using: &generator) }
        for _ in 0..<3 {
            try step(&optimizer, handles, specs, &weights, &generator)
        }
        return (optimizer, handles, weights)
    }

    func step(
        _ optimizer: inout NGPlusOptimizer<Float>, _ handles: [LayerHandle], _ specs: [LayerSpec],
        _ weights: inout [Matrix<Float>], _ generator: inout SeededGenerator
    ) throws {
        for (i, spec) in specs.enumerated() {
            let shape = spec.parameterShape
            switch spec {
            case let .dense(outputs, inputs, _):
                let x = Matrix<Float>.random(rows: 4, columns: inputs, using: &generator)
                let dy = Matrix<Float>.random(rows: 4, columns: outputs, scale: 0.1, using: &generator)
                try optimizer.observe(handles[i], inputs: x, outputGradients: dy)
                try optimizer.step(handles[i], weight: &weights[i], inputs: x, outputGradients: dy)
            case let .conv2d(geometry, outChannels, _):
                let x = Matrix<Float>.random(rows: 4, columns: geometry.inputLength, using: &generator)
                let dy = Matrix<Float>.random(rows: 4, columns: outChannels * geometry.positions, scale: 0.1, using: &generator)
                try optimizer.observe(handles[i], inputs: x, outputGradients: dy)
                try optimizer.step(handles[i], weight: &weights[i],
                                   gradient: Matrix.random(rows: shape.rows, columns: shape.columns, using: &generator))
            case .matrix, .vector:
                try optimizer.step(handles[i], weight: &weights[i],
                                   gradient: Matrix.random(rows: shape.rows, columns: shape.columns, using: &generator))
            }
        }
    }

    @Test func badStepsAreRefusedAndChangeNothingByteForByte() throws {
        var (optimizer, handles, weights) = try trainedOptimizer()
        let before = optimizer.stateBytes()
        let weightsBefore = weights
        let op = "NGPlusOptimizer.step"

        #expect(throws: NGError.unknownLayer(operation: op, layer: 9)) {
            try optimizer.step(LayerHandle(index: 9), weight: &weights[0], gradient: weights[0])
        }
        var nan = weights[2]
        nan[1, 1] = .nan
        #expect(throws: NGError.nonFinite(operation: op, argument: "gradient", row: 1, column: 1)) {
            try optimizer.step(handles[2], weight: &weights[2], gradient: nan)
        }
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "gradient", expected: Shape(3, 7), actual: Shape(3, 6))) {
            try optimizer.step(handles[0], weight: &weights[0], gradient: Matrix(rows: 3, columns: 6))
        }
        #expect(throws: NGError.self) {
            try optimizer.step(handles[0], weight: &weights[0], inputs: Matrix(rows: 4, columns: 6),
                               outputGradients: Matrix(rows: 5, columns: 3))
        }
        #expect(throws: NGError.invalidArgument(
            operation: "NGPlusOptimizer.observe", argument: "layer",
            reason: "has no per-sample statistics: observe is for dense and conv2d layers")) {
            try optimizer.observe(handles[2], inputs: Matrix(rows: 1, columns: 1), outputGradients: Matrix(rows: 1, columns: 1))
        }
        #expect(throws: NGError.shapeMismatch(
            operation: "NGPlusOptimizer.observe", argument: "outputGradients", expected: Shape(4, 3), actual: Shape(5, 3))) {
            try optimizer.observe(handles[0], inputs: Matrix(rows: 4, columns: 6), outputGradients: Matrix(rows: 5, columns: 3))
        }
        #expect(optimizer.stateBytes() == before)
        #expect(weights == weightsBefore)
    }

    /// A NaN in an observation is refused on a statistics step, state untouched; off them the
    /// observation is unused, and only its shape is checked.
    @Test func aNonFiniteObservationIsRefusedWhenItWouldBeUsed() throws {
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 2))
        let layer = try optimizer.register(.dense(outputs: 2, inputs: 3, bias: true))
        var weight = Matrix<Double>(rows: 2, columns: 4, repeating: 0.5)
        let x = try Matrix<Double>(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])
        let dy = try Matrix<Double>(rows: 2, columns: 2, elements: [0.1, -0.2, 0.3, 0.4])
        var bad = x
        bad[1, 2] = .nan
        let before = optimizer.stateBytes()
        #expect(throws: NGError.nonFinite(operation: "NGPlusOptimizer.observe", argument: "inputs", row: 1, column: 2)) {
            try optimizer.observe(layer, inputs: bad, outputGradients: dy)
        }
        #expect(optimizer.stateBytes() == before)
        try optimizer.observe(layer, inputs: x, outputGradients: dy)
        try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        let afterStep = optimizer.stateBytes()
        try optimizer.observe(layer, inputs: bad, outputGradients: dy)   // step 1: not used
        #expect(optimizer.stateBytes() == afterStep)
    }

    @Test func aStatisticsStepWithoutObserveIsRefused() throws {
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(inverseInterval: 3))
        let layer = try optimizer.register(.dense(outputs: 2, inputs: 3, bias: false))
        var weight = Matrix<Double>(rows: 2, columns: 3, repeating: 0.5)
        let before = optimizer.stateBytes()
        #expect(throws: NGError.missingStatistics(operation: "NGPlusOptimizer.step", layer: 0, step: 0)) {
            try optimizer.step(layer, weight: &weight, gradient: Matrix(rows: 2, columns: 3, repeating: 1))
        }
        #expect(optimizer.stateBytes() == before)
        #expect(weight == Matrix(rows: 2, columns: 3, repeating: 0.5))
    }

    @Test func aRefreshThatCannotFactorRefusesTheStepAndKeepsTheState() throws {
        // F = ones(4×4) exactly; with shift √1e-30 = 1e-15, 1 + 1e-15 rounds to 1 in Float and the
        // second pivot is exactly 0: POTRF fails, and no retries are allowed.
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            damping: 1e-30, side: .left, method: .explicitInverse, batchSize: 1, maxRetries: 0))
        let layer = try optimizer.register(.dense(outputs: 4, inputs: 1, bias: false))
        let x = try Matrix<Float>(rows: 1, columns: 1, elements: [1])
        let dy = Matrix<Float>(rows: 1, columns: 4, repeating: 1)
        try optimizer.observe(layer, inputs: x, outputGradients: dy)
        let before = optimizer.stateBytes()
        var weight = Matrix<Float>(rows: 4, columns: 1, repeating: 2)
        let error = #expect(throws: NGError.self) {
            try optimizer.step(layer, weight: &weight, gradient: Matrix(rows: 4, columns: 1, repeating: 1))
        }
        guard case .notPositiveDefinite(_, 0, 2, _, 1)? = error else {
            Issue.record("expected notPositiveDefinite of order 2, got \(String(describing: error))")
            return
        }
        #expect(optimizer.stateBytes() == before)
        #expect(weight == Matrix(rows: 4, columns: 1, repeating: 2))
    }

    @Test func badConfigurationsAndLayersAreRejected() throws {
        #expect(throws: NGError.nonPositiveDamping(operation: "NGPlusOptimizer.init", value: 0)) {
            try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(damping: 0))
        }
        #expect(throws: NGError.self) { try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 0)) }
        #expect(throws: NGError.self) { try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 4, statisticsInterval: 3)) }
        #expect(throws: NGError.self) { try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(runningAverage: 0)) }
        #expect(throws: NGError.self) { try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(sgd: SGDSettings(momentum: 1))) }
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(runningAverage: 0.5, method: .woodbury))
        #expect(throws: NGError.self) { try optimizer.register(.dense(outputs: 4, inputs: 3, bias: true)) }
        #expect(throws: NGError.self) { try optimizer.register(.vector(length: 0)) }
    }

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

    func specsOfTrainedOptimizer() throws -> [LayerSpec] {
        let geometry = try ConvGeometry(inChannels: 2, height: 5, width: 5, kernelHeight: 3, kernelWidth: 3, padding: 1)
        return [.dense(outputs: 3, inputs: 6, bias: true), .conv2d(geometry: geometry, outChannels: 4, bias: true),
                .matrix(rows: 5, columns: 3), .vector(length: 7)]
    }

    func freshOptimizer() throws -> (NGPlusOptimizer<Float>, [LayerHandle], [LayerSpec]) {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: 2, runningAverage: 0.5, batchSize: 4))
        let specs = try specsOfTrainedOptimizer()
        let handles = try specs.map { spec throws(NGError) in try optimizer.register(spec) }
        return (optimizer, handles, specs)
    }

    @Test func corruptTruncatedOrMismatchedStatesAreRejectedAndChangeNothing() throws {
        let (optimizer, _, _) = try trainedOptimizer()
        let good = optimizer.stateBytes()
        var (target, _, _) = try freshOptimizer()
        let before = target.stateBytes()
        let op = "NGPlusOptimizer.load"

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
        #expect(throws: NGError.self) { try target.load(from: missing) }
        #expect(target.stateBytes() == before)
    }
}

@Suite struct NGPlusScheduleTests {
    @Test func staggeredLayersTakeTheirStatisticsAndRefreshesOnDifferentSteps() throws {
        let k = 3
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            inverseInterval: k, staggered: true, batchSize: 2))
        let layers = try (0..<3).map { _ throws(NGError) in try optimizer.register(.dense(outputs: 2, inputs: 3, bias: false)) }
        var generator = SeededGenerator(seed: 111)
        var weights = [Matrix<Double>](repeating: Matrix(rows: 2, columns: 3), count: 3)
        for t in 0..<7 {
            for (j, layer) in layers.enumerated() {
                let x = Matrix<Double>.random(rows: 2, columns: 3, using: &generator)
                let dy = Matrix<Double>.random(rows: 2, columns: 2, using: &generator)
                let due = t == 0 || t % k == j
                if due {
                    // Skipping observe on a layer's own statistics step is refused…
                    #expect(throws: NGError.missingStatistics(operation: "NGPlusOptimizer.step", layer: j, step: t)) {
                        try optimizer.step(layer, weight: &weights[j], inputs: x, outputGradients: dy)
                    }
                    try optimizer.observe(layer, inputs: x, outputGradients: dy)
                }
                // …and on other steps no statistics are needed.
                try optimizer.step(layer, weight: &weights[j], inputs: x, outputGradients: dy)
            }
        }
    }
}

@Suite struct CurvaturePlanTests {
    func plan(_ spec: LayerSpec, _ configuration: NGPlusConfiguration) throws -> CurvaturePlan {
        var optimizer = try NGPlusOptimizer<Float>(configuration: configuration)
        let layer = try optimizer.register(spec)
        return try #require(try optimizer.plan(for: layer))
    }

    @Test func automaticChoiceTakesTheFewestFlopsPerStep() throws {
        let paper = NGPlusConfiguration(batchSize: 128)
        // 784 → 256: left (256² < 785²); B = 128 is not below m/2, so no Woodbury.
        let mlp = try plan(.dense(outputs: 256, inputs: 784, bias: true), paper)
        #expect(mlp.side == .left && mlp.method == .explicitInverse && mlp.order == 256)
        #expect(mlp.applyFlops == 2 * 256 * 256 * 785)
        #expect(mlp.refreshFlops == 256 * 256 * 256)
        // 1024 → 1024, B = 128 < 512: Woodbury's 4·m·n·B beats 2·m²·n.
        let square = try plan(.dense(outputs: 1024, inputs: 1024, bias: true), paper)
        #expect(square.method == .woodbury && square.applyFlops == 4 * 1024 * 1025 * 128)
        // A running average makes the GFIM full rank: no Woodbury; 16 → 2048 goes right.
        let averaged = NGPlusConfiguration(runningAverage: 0.9, batchSize: 128)
        let wide = try plan(.dense(outputs: 2048, inputs: 16, bias: true), averaged)
        #expect(wide.side == .right && wide.method == .explicitInverse && wide.order == 17)
        // Block-diagonal above the block size.
        let blocked = try plan(.dense(outputs: 3000, inputs: 4000, bias: false),
                               NGPlusConfiguration(runningAverage: 0.5, side: .left, blockSize: 1024))
        #expect(blocked.blockSize == 1024 && blocked.refreshFlops == 2 * pow(1024, 3) + pow(952, 3))
        // Fused planning: the apply costs 2·m²·B.
        let fused = try plan(.dense(outputs: 256, inputs: 784, bias: true), NGPlusConfiguration(batchSize: 128, fusedApply: true))
        #expect(fused.applyFlops == 2 * 256 * 256 * 128)
        // Fused on the right: [X | 1]·F̂⁻¹ costs 2·(n+1)²·B by the explicit inverse, 4·(n+1)·B²
        // by Woodbury (B = 128 < 785/2), which wins.
        let right = NGPlusConfiguration(side: .right, batchSize: 128, fusedApply: true)
        let fusedRight = try plan(.dense(outputs: 256, inputs: 784, bias: true), right)
        #expect(fusedRight.method == .woodbury && fusedRight.applyFlops == 4 * 785 * 128 * 128)
        var explicitRight = right
        explicitRight.method = .explicitInverse
        let fusedExplicit = try plan(.dense(outputs: 256, inputs: 784, bias: true), explicitRight)
        #expect(fusedExplicit.applyFlops == 2 * 785 * 785 * 128)
        // 256 → 10 on the right: G̃ has 10 rows, fewer than B = 128, so the fused step forms G̃
        // and applies F̂⁻¹ to it, 4·257·128·10 flops by Woodbury rather than 4·257·128².
        let narrow = try plan(.dense(outputs: 10, inputs: 256, bias: true), right)
        #expect(narrow.method == .woodbury && narrow.applyFlops == 4 * 257 * 128 * 10)
    }
}
