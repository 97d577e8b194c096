import Foundation
import NGPlus
import NGTestSupport
import Testing

/// Bad input to NG+ is refused with a typed error and changes nothing.
@Suite struct NGPlusErrorTests: TrainedOptimizerFixture {
    @Test func badStepsAreRefusedAndChangeNothingByteForByte() throws {
        var (optimizer, handles, weights) = try trainedOptimizer()
        let before = optimizer.stateBytes()
        let weightsBefore = weights
        let op: NGError.Operation = "NGPlusOptimizer.step"

        #expect(throws: OptimizerError.unknownLayer(operation: op, layer: 9)) {
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
        #expect(throws: OptimizerError.missingStatistics(operation: "NGPlusOptimizer.step", layer: 0, step: 0)) {
            try optimizer.step(layer, weight: &weight, gradient: Matrix(rows: 2, columns: 3, repeating: 1))
        }
        #expect(optimizer.stateBytes() == before)
        #expect(weight == Matrix(rows: 2, columns: 3, repeating: 0.5))
    }

    @Test func aRefreshThatCannotFactorRefusesTheStepAndKeepsTheState() throws {
        // F = ones(4×4) exactly; with shift √1e-60 = 1e-30, 1 + 1e-30 rounds to 1 in Float and in
        // Double, and the second pivot is exactly 0: POTRF fails on both precisions' rung, and no
        // retries are allowed.
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            damping: 1e-60, side: .left, method: .explicitInverse, batchSize: 1, maxRetries: 0))
        let layer = try optimizer.register(.dense(outputs: 4, inputs: 1, bias: false))
        let x = try Matrix<Float>(rows: 1, columns: 1, elements: [1])
        let dy = Matrix<Float>(rows: 1, columns: 4, repeating: 1)
        try optimizer.observe(layer, inputs: x, outputGradients: dy)
        let before = optimizer.stateBytes()
        var weight = Matrix<Float>(rows: 4, columns: 1, repeating: 2)
        let error = #expect(throws: NGError.self) {
            try optimizer.step(layer, weight: &weight, gradient: Matrix(rows: 4, columns: 1, repeating: 1))
        }
        guard case .notPositiveDefinite(_, 0, 2, _, 2)? = error else {
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
}
