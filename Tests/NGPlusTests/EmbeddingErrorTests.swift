import Foundation
import NGPlus
import NGTestSupport
import Testing

/// Bad input to an embedding table's step is refused with a typed error and changes nothing,
/// for every optimizer; a step that throws leaves the state and the table byte for byte; a
/// saved state resumes to the same answer.
@Suite struct EmbeddingErrorTests {
    static let (vocabulary, width) = (6, 3)

    /// The four optimizers, each with an embedding table (handle 0) and a dense layer (1), after
    /// two steps.
    static func trained<O: LayerOptimizer>(_ optimizer: O) throws -> (O, [LayerHandle], Matrix<O.Scalar>, Matrix<O.Scalar>) {
        var optimizer = optimizer
        let table = try optimizer.register(.embedding(vocabulary: vocabulary, width: width))
        let dense = try optimizer.register(.dense(outputs: 2, inputs: 2, bias: false))
        var generator = SeededGenerator(seed: 61)
        var weights = Matrix<O.Scalar>.random(rows: vocabulary, columns: width, using: &generator)
        var denseWeight = Matrix<O.Scalar>.random(rows: 2, columns: 2, using: &generator)
        for _ in 0..<2 {
            let dy = Matrix<O.Scalar>.random(rows: 4, columns: width, scale: 0.1, using: &generator)
            try optimizer.step(table, table: &weights, lookups: [0, 2, 2, 5], outputGradients: dy)
            let x = Matrix<O.Scalar>.random(rows: 3, columns: 2, using: &generator)
            let dyDense = Matrix<O.Scalar>.random(rows: 3, columns: 2, scale: 0.1, using: &generator)
            if optimizer.usesObservation(dense) { try optimizer.observe(dense, inputs: x, outputGradients: dyDense) }
            try optimizer.step(dense, weight: &denseWeight, inputs: x, outputGradients: dyDense)
        }
        return (optimizer, [table, dense], weights, denseWeight)
    }

    static func refusesBadInput<O: LayerOptimizer>(_ optimizer: O, name: String) throws {
        var (optimizer, handles, table, dense) = try trained(optimizer)
        let (before, tableBefore, denseBefore) = (optimizer.stateBytes(), table, dense)
        let op = NGError.Operation("\(name).step")
        let dy = Matrix<O.Scalar>(rows: 2, columns: width, repeating: 0.1)
        #expect(throws: NGError.invalidArgument(
            operation: op, argument: "lookups", reason: "lookup 1 reads row 6, outside the table's 6 rows")) {
            try optimizer.step(handles[0], table: &table, lookups: [0, 6], outputGradients: dy)
        }
        #expect(throws: NGError.invalidArgument(
            operation: op, argument: "lookups", reason: "lookup 0 reads row -1, outside the table's 6 rows")) {
            try optimizer.step(handles[0], table: &table, lookups: [-1, 0], outputGradients: dy)
        }
        #expect(throws: NGError.invalidArgument(operation: op, argument: "lookups", reason: "is empty")) {
            try optimizer.step(handles[0], table: &table, lookups: [], outputGradients: Matrix(rows: 0, columns: width))
        }
        #expect(throws: NGError.shapeMismatch(
            operation: op, argument: "outputGradients", expected: Shape(3, width), actual: Shape(2, width))) {
            try optimizer.step(handles[0], table: &table, lookups: [1, 2, 3], outputGradients: dy)
        }
        #expect(throws: NGError.shapeMismatch(
            operation: op, argument: "table", expected: Shape(vocabulary, width), actual: Shape(vocabulary, width + 1))) {
            var wrong = Matrix<O.Scalar>(rows: vocabulary, columns: width + 1)
            try optimizer.step(handles[0], table: &wrong, lookups: [1, 2], outputGradients: dy)
        }
        var nan = dy
        nan[1, 2] = .nan
        #expect(throws: NGError.nonFinite(operation: op, argument: "outputGradients", row: 1, column: 2)) {
            try optimizer.step(handles[0], table: &table, lookups: [1, 2], outputGradients: nan)
        }
        // A NaN in a looked-up row of the table is refused; one in a row not looked up is not
        // read (the step costs the lookups, not the vocabulary).
        var badTable = table
        badTable[4, 1] = .nan
        #expect(throws: NGError.nonFinite(operation: op, argument: "weight", row: 4, column: 1)) {
            try optimizer.step(handles[0], table: &badTable, lookups: [1, 4], outputGradients: dy)
        }
        // Both at once: the output gradients are named, as they are checked first.
        #expect(throws: NGError.nonFinite(operation: op, argument: "outputGradients", row: 1, column: 2)) {
            try optimizer.step(handles[0], table: &badTable, lookups: [1, 4], outputGradients: nan)
        }
        // Finite gradients whose sum for a repeated row overflows.
        let huge = Matrix<O.Scalar>(rows: 3, columns: width, repeating: O.Scalar.greatestFiniteMagnitude / 2)
        #expect(throws: NGError.self) {
            try optimizer.step(handles[0], table: &table, lookups: [3, 3, 3], outputGradients: huge)
        }
        // The table's step is not the dense one, and the dense layer has no lookups.
        #expect(throws: NGError.invalidArgument(
            operation: op, argument: "layer",
            reason: "is an embedding table: step it from its lookups, step(_:table:lookups:outputGradients:)")) {
            try optimizer.step(handles[0], weight: &table, gradient: Matrix(rows: vocabulary, columns: width))
        }
        #expect(throws: NGError.invalidArgument(
            operation: NGError.Operation("\(name).observe"), argument: "layer",
            reason: "has no per-sample statistics: observe is for dense and conv2d layers")) {
            try optimizer.observe(handles[0], inputs: Matrix(rows: 2, columns: 1), outputGradients: dy)
        }
        #expect(throws: NGError.invalidArgument(
            operation: op, argument: "layer", reason: "takes lookups only as an embedding table")) {
            try optimizer.step(handles[1], table: &dense, lookups: [0], outputGradients: Matrix(rows: 1, columns: 2))
        }
        #expect(throws: OptimizerError.unknownLayer(operation: op, layer: 7)) {
            try optimizer.step(LayerHandle(index: 7), table: &table, lookups: [0], outputGradients: Matrix(rows: 1, columns: width))
        }
        #expect(!optimizer.usesObservation(handles[0]))
        #expect(optimizer.stateBytes() == before)
        #expect(table == tableBefore && dense == denseBefore)
    }

    @Test func badInputIsRefusedAndChangesNothing() throws {
        try Self.refusesBadInput(try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 4)), name: "NGPlusOptimizer")
        try Self.refusesBadInput(try KFACOptimizer<Double>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 4)), name: "KFACOptimizer")
        try Self.refusesBadInput(try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9)), name: "SGDOptimizer")
        try Self.refusesBadInput(try AdamOptimizer<Double>(settings: AdamSettings()), name: "AdamOptimizer")
    }

    /// Under `.skipStep` a non-finite gradient skips the table's step (counted), a NaN in a
    /// looked-up row of the table still throws.
    @Test func skipPolicySkipsNonFiniteGradientsOnly() throws {
        try Self.skipsNonFiniteGradientsOnly(try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 4)))
        try Self.skipsNonFiniteGradientsOnly(try SGDOptimizer<Double>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9)))
        try Self.skipsNonFiniteGradientsOnly(try AdamOptimizer<Double>(settings: AdamSettings()))
    }

    static func skipsNonFiniteGradientsOnly<O: LayerOptimizer>(_ fresh: O) throws where O.Scalar == Double {
        var (optimizer, handles, table, _) = try Self.trained(fresh)
        optimizer.nonFinitePolicy = .skipStep
        let before = optimizer.stateBytes()
        var nan = Matrix<Double>(rows: 2, columns: Self.width, repeating: 0.1)
        nan[0, 0] = .infinity
        try optimizer.step(handles[0], table: &table, lookups: [1, 2], outputGradients: nan)
        #expect(try optimizer.skippedSteps(of: handles[0]) == 1)
        #expect(optimizer.stateBytes() == before)
        table[2, 0] = .nan
        #expect(throws: NGError.self) {
            try optimizer.step(handles[0], table: &table, lookups: [1, 2], outputGradients: Matrix(rows: 2, columns: Self.width))
        }
        #expect(try optimizer.skippedSteps(of: handles[0]) == 1)   // thrown, not skipped
    }

    /// A state saved after two steps and restored into a fresh optimizer continues to the same
    /// table, bit for bit, for every optimizer.
    static func resumes<O: LayerOptimizer>(_ fresh: O) throws where O.Scalar == Double {
        var (optimizer, handles, table, _) = try trained(fresh)
        var resumed = fresh
        _ = try resumed.register(.embedding(vocabulary: vocabulary, width: width))
        _ = try resumed.register(.dense(outputs: 2, inputs: 2, bias: false))
        try resumed.restore(stateBytes: optimizer.stateBytes())
        var other = table
        var generator = SeededGenerator(seed: 67)
        for step in 0..<3 {
            let dy = Matrix<Double>.random(rows: 3, columns: width, scale: 0.1, using: &generator)
            let lookups = [step, 5 - step, step]
            try optimizer.step(handles[0], table: &table, lookups: lookups, outputGradients: dy)
            try resumed.step(handles[0], table: &other, lookups: lookups, outputGradients: dy)
        }
        #expect(table == other)
        #expect(optimizer.stateBytes() == resumed.stateBytes())
    }

    @Test func everyOptimizerResumesBitIdentically() throws {
        try Self.resumes(try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(inverseInterval: 2, runningAverage: 0.5, batchSize: 4)))
        try Self.resumes(try KFACOptimizer<Double>(configuration: KFACConfiguration(inverseInterval: 2, runningAverage: 0.5, batchSize: 4)))
        try Self.resumes(try SGDOptimizer<Double>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9)))
        try Self.resumes(try AdamOptimizer<Double>(settings: AdamSettings()))
    }
}
