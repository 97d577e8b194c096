import NGPlus
import NGTestSupport
import Testing

/// `NonFiniteStepPolicy.skipStep`, the opt-in "skip on overflow" of mixed-precision training:
/// a NaN gradient, an overflowing update or a NaN observation skips the step — nothing changes,
/// byte for byte — and counts it; a NaN weight still throws; the default still throws.
@Suite struct SkipNonFiniteStepTests {
    enum Kind: CaseIterable { case ngPlus, kfac, sgd, adam }

    @Test(arguments: Kind.allCases)
    func nonFiniteStepsAreSkippedCountedAndChangeNothing(kind: Kind) throws {
        switch kind {
        case .ngPlus:
            try exercise(NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 8)))
        case .kfac:
            try exercise(KFACOptimizer<Float>(configuration: KFACConfiguration(
                inverseInterval: 2, statisticsInterval: 1, batchSize: 8)))
        case .sgd:
            try exercise(SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9)))
        case .adam:
            try exercise(AdamOptimizer<Float>(settings: AdamSettings()))
        }
    }

    func exercise<O: LayerOptimizer>(_ fresh: O) throws where O.Scalar == Float {
        var optimizer = fresh
        let layer = try optimizer.register(.dense(outputs: 6, inputs: 5, bias: true))
        var generator = SeededGenerator(seed: 17)
        var weight = Matrix<Float>.random(rows: 6, columns: 6, scale: 0.1, using: &generator)
        let x = Matrix<Float>.random(rows: 8, columns: 5, using: &generator)
        let dy = Matrix<Float>.random(rows: 8, columns: 6, scale: 0.01, using: &generator)
        func goodStep() throws {
            if optimizer.usesObservation(layer) { try optimizer.observe(layer, inputs: x, outputGradients: dy) }
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        }
        try goodStep()
        try goodStep()

        // The default throws.
        var nanGradient = Matrix<Float>.random(rows: 6, columns: 6, using: &generator)
        nanGradient[2, 3] = .nan
        if optimizer.usesObservation(layer) { try optimizer.observe(layer, inputs: x, outputGradients: dy) }
        #expect(throws: NGError.nonFinite(
            operation: NGError.Operation(stringLiteral: "\(operationPrefix(O.self)).step"), argument: "gradient", row: 2, column: 3)) {
            try optimizer.step(layer, weight: &weight, gradient: nanGradient)
        }

        optimizer.nonFinitePolicy = .skipStep
        let before = optimizer.stateBytes()
        let weightBefore = weight
        func expectSkipped(_ count: Int, _ what: String) throws {
            #expect(try optimizer.skippedSteps(of: layer) == count, "\(what)")
            #expect(optimizer.stateBytes() == before, "\(what): the state changed")
            #expect(weight.elements == weightBefore.elements, "\(what): the weight changed")
        }
        // A NaN gradient.
        try optimizer.step(layer, weight: &weight, gradient: nanGradient)
        try expectSkipped(1, "a NaN gradient")
        // Finite inputs whose weight gradient overflows Float.
        let huge = Matrix<Float>(rows: 8, columns: 5, repeating: 1e30)
        let hugeDY = Matrix<Float>(rows: 8, columns: 6, repeating: 1e30)
        if optimizer.usesObservation(layer) { try optimizer.observe(layer, inputs: x, outputGradients: dy) }
        try optimizer.step(layer, weight: &weight, inputs: huge, outputGradients: hugeDY)
        try expectSkipped(2, "an overflowing fused step")
        // A NaN observation, where the step uses one: dropped, and the coming step skipped.
        if optimizer.usesObservation(layer) {
            var nanX = x
            nanX[0, 0] = .infinity
            try optimizer.observe(layer, inputs: nanX, outputGradients: dy)
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
            try expectSkipped(3, "a step after a non-finite observation")
        }
        // A NaN weight is damage, not an overflow: it still throws.
        var nanWeight = weight
        nanWeight[1, 1] = .nan
        #expect(throws: NGError.self) {
            try optimizer.step(layer, weight: &nanWeight, gradient: Matrix(rows: 6, columns: 6, repeating: 0.1))
        }
        #expect(optimizer.stateBytes() == before)
        // Training goes on.
        try goodStep()
        #expect(optimizer.stateBytes() != before)
        #expect(weight.firstNonFiniteIndex() == nil)
        #expect(throws: OptimizerError.unknownLayer(operation: NGError.Operation(stringLiteral: "\(operationPrefix(O.self)).skippedSteps"), layer: 9)) {
            try optimizer.skippedSteps(of: LayerHandle(index: 9))
        }
    }

    /// The name an optimizer's errors carry.
    func operationPrefix<O>(_: O.Type) -> String {
        let name = "\(O.self)"
        if name.hasPrefix("NGPlusOptimizer") { return "NGPlusOptimizer" }
        if name.hasPrefix("KFACOptimizer") { return "KFACOptimizer" }
        return name.contains("Adam") ? "AdamOptimizer" : "SGDOptimizer"
    }
}
