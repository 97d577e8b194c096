import NGPlus
import NGTestSupport
import Testing

/// `NonFiniteStepPolicy.skipStep`, the opt-in "skip on overflow" of mixed-precision training:
/// a NaN gradient, an overflowing update or a NaN observation skips the step — nothing changes,
/// byte for byte — and counts it; a NaN weight still throws; the default still throws.
@Suite struct SkipNonFiniteStepTests {
    enum Kind: CaseIterable { case ngPlus, kfac, sgd, adam, muon, shampoo }

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
        case .muon:
            try exercise(MuonOptimizer<Float>(settings: MuonSettings()))
        case .shampoo:
            try exercise(ShampooOptimizer<Float>(settings: ShampooSettings(inverseInterval: 2)))
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

        // A dense step's non-finite inputs or output gradients, named by the error (they are
        // scanned when the step fails), with nothing changed.
        let stepOperation = NGError.Operation(stringLiteral: "\(operationPrefix(O.self)).step")
        var (nanX, infDY) = (x, dy)
        nanX[3, 4] = .nan
        infDY[7, 0] = -.infinity
        let (refusedState, refusedWeight) = (optimizer.stateBytes(), weight)
        for (inputs, outputGradients, argument, row, column) in [
            (nanX, dy, "inputs", 3, 4), (x, infDY, "outputGradients", 7, 0), (nanX, infDY, "inputs", 3, 4),
        ] {
            #expect(throws: NGError.nonFinite(operation: stepOperation, argument: argument, row: row, column: column)) {
                try optimizer.step(layer, weight: &weight, inputs: inputs, outputGradients: outputGradients)
            }
            #expect(optimizer.stateBytes() == refusedState)
            #expect(weight.elements == refusedWeight.elements)
        }

        // A non-finite weight is damage, not an overflow: under either policy it throws, named
        // before a bad gradient or input of the same step (the weight is scanned only when a
        // step fails, first), nothing changed and no skip counted.
        func expectWeightNamed() throws {
            let (state, skipped) = (optimizer.stateBytes(), try optimizer.skippedSteps(of: layer))
            let finiteGradient = Matrix<Float>(rows: 6, columns: 6, repeating: 0.1)
            for (value, row, column) in [(Float.nan, 1, 1), (.infinity, 5, 0), (-.infinity, 0, 5)] {
                var badWeight = weight
                badWeight[row, column] = value
                let badBefore = badWeight.elements.map(\.bitPattern)
                let named = NGError.nonFinite(operation: stepOperation, argument: "weight", row: row, column: column)
                if optimizer.usesObservation(layer) { try optimizer.observe(layer, inputs: x, outputGradients: dy) }
                #expect(throws: named) { try optimizer.step(layer, weight: &badWeight, gradient: finiteGradient) }
                #expect(throws: named) { try optimizer.step(layer, weight: &badWeight, gradient: nanGradient) }
                #expect(throws: named) { try optimizer.step(layer, weight: &badWeight, inputs: x, outputGradients: dy) }
                #expect(throws: named) { try optimizer.step(layer, weight: &badWeight, inputs: nanX, outputGradients: dy) }
                #expect(badWeight.elements.map(\.bitPattern) == badBefore)
            }
            #expect(optimizer.stateBytes() == state, "a non-finite weight changed the state")
            #expect(try optimizer.skippedSteps(of: layer) == skipped, "a non-finite weight was skipped")
        }
        try expectWeightNamed()

        optimizer.nonFinitePolicy = .skipStep
        try expectWeightNamed()
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
        // NaN inputs of a dense step.
        if optimizer.usesObservation(layer) { try optimizer.observe(layer, inputs: x, outputGradients: dy) }
        try optimizer.step(layer, weight: &weight, inputs: nanX, outputGradients: dy)
        try expectSkipped(3, "NaN inputs")
        // A NaN observation, where the step uses one: dropped, and the coming step skipped.
        if optimizer.usesObservation(layer) {
            var nanX = x
            nanX[0, 0] = .infinity
            try optimizer.observe(layer, inputs: nanX, outputGradients: dy)
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
            try expectSkipped(4, "a step after a non-finite observation")
        }
        try expectWeightNamed()
        #expect(optimizer.stateBytes() == before)
        // Training goes on.
        try goodStep()
        #expect(optimizer.stateBytes() != before)
        #expect(weight.firstNonFiniteIndex() == nil)
        #expect(throws: OptimizerError.unknownLayer(operation: NGError.Operation(stringLiteral: "\(operationPrefix(O.self)).skippedSteps"), layer: 9)) {
            try optimizer.skippedSteps(of: LayerHandle(index: 9))
        }
    }

    /// The layers and optimizers whose steps use an observation, for the dropped-observation
    /// checks below.
    enum ObservingCase: CaseIterable {
        case ngPlusDenseLeft, ngPlusDenseRightWoodbury, ngPlusConv, ngPlusAdamBase, kfacDense, kfacConv

        func spec() throws -> LayerSpec {
            switch self {
            case .ngPlusConv, .kfacConv:
                .conv2d(
                    geometry: try ConvGeometry(
                        inChannels: 2, height: 5, width: 5, kernelHeight: 3, kernelWidth: 3, padding: 1),
                    outChannels: 3, bias: true)
            default: .dense(outputs: 6, inputs: 5, bias: true)
            }
        }
    }

    /// Under `.skipStep`, a dropped observation skips the coming step only once that step's
    /// arguments have been checked: a NaN weight still throws `nonFinite` (argument `weight`),
    /// a gradient of the wrong shape `shapeMismatch`, neither counted as a skip, nothing
    /// changed, and the next well-formed step is the one skipped. On a statistics step at the
    /// first step and at a later one (inverse interval 3).
    @Test(arguments: ObservingCase.allCases, [0, 3])
    func aDroppedObservationDoesNotHideABadStep(kind: ObservingCase, goodSteps: Int) throws {
        switch kind {
        case .ngPlusDenseLeft:
            try exerciseDroppedObservation(
                NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 3, side: .left, batchSize: 8)),
                kind.spec(), goodSteps: goodSteps)
        case .ngPlusDenseRightWoodbury:
            try exerciseDroppedObservation(
                NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                    inverseInterval: 3, side: .right, method: .woodbury, batchSize: 8)),
                kind.spec(), goodSteps: goodSteps)
        case .ngPlusConv:
            try exerciseDroppedObservation(
                NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 3, batchSize: 8)),
                kind.spec(), goodSteps: goodSteps)
        case .ngPlusAdamBase:
            try exerciseDroppedObservation(
                NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                    inverseInterval: 3, batchSize: 8, adam: AdamSettings())),
                kind.spec(), goodSteps: goodSteps)
        case .kfacDense, .kfacConv:
            try exerciseDroppedObservation(
                KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: 3, batchSize: 8)),
                kind.spec(), goodSteps: goodSteps)
        }
    }

    func exerciseDroppedObservation<O: LayerOptimizer>(
        _ fresh: O, _ spec: LayerSpec, goodSteps: Int
    ) throws where O.Scalar == Float {
        var optimizer = fresh
        let layer = try optimizer.register(spec)
        var generator = SeededGenerator(seed: 23)
        let shape = spec.parameterShape
        let (inputLength, outputLength): (Int, Int)
        switch spec {
        case let .conv2d(geometry, outChannels, _): (inputLength, outputLength) = (geometry.inputLength, outChannels * geometry.positions)
        case let .dense(outputs, inputs, _): (inputLength, outputLength) = (inputs, outputs)
        default: Issue.record("not an observing layer"); return
        }
        var weight = Matrix<Float>.random(rows: shape.rows, columns: shape.columns, scale: 0.1, using: &generator)
        let x = Matrix<Float>.random(rows: 8, columns: inputLength, using: &generator)
        let dy = Matrix<Float>.random(rows: 8, columns: outputLength, scale: 0.01, using: &generator)
        let gradient = Matrix<Float>.random(rows: shape.rows, columns: shape.columns, scale: 0.01, using: &generator)
        for _ in 0..<goodSteps {
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            try optimizer.step(layer, weight: &weight, gradient: gradient)
        }
        optimizer.nonFinitePolicy = .skipStep
        #expect(optimizer.usesObservation(layer))
        var nanX = x
        nanX[0, 0] = .nan
        try optimizer.observe(layer, inputs: nanX, outputGradients: dy)

        let before = optimizer.stateBytes()
        let operation = NGError.Operation(stringLiteral: "\(operationPrefix(O.self)).step")
        var nanWeight = weight
        nanWeight[1, 2] = .nan
        let nanWeightBefore = nanWeight
        #expect(throws: NGError.nonFinite(operation: operation, argument: "weight", row: 1, column: 2)) {
            try optimizer.step(layer, weight: &nanWeight, gradient: gradient)
        }
        if case .dense = spec {
            #expect(throws: NGError.nonFinite(operation: operation, argument: "weight", row: 1, column: 2)) {
                try optimizer.step(layer, weight: &nanWeight, inputs: x, outputGradients: dy)
            }
        }
        let longGradient = Matrix<Float>(rows: shape.rows + 1, columns: shape.columns, repeating: 0.01)
        let weightBefore = weight
        #expect(throws: NGError.shapeMismatch(
            operation: operation, argument: "gradient", expected: shape, actual: longGradient.shape)) {
            try optimizer.step(layer, weight: &weight, gradient: longGradient)
        }
        #expect(try optimizer.skippedSteps(of: layer) == 0, "a refused step was counted as skipped")
        #expect(optimizer.stateBytes() == before)
        #expect(weight.elements == weightBefore.elements)
        #expect(nanWeight.elements.map(\.bitPattern) == nanWeightBefore.elements.map(\.bitPattern))

        // The well-formed step after the refusals is the one the dropped observation skips.
        try optimizer.step(layer, weight: &weight, gradient: gradient)
        #expect(try optimizer.skippedSteps(of: layer) == 1)
        #expect(weight.elements == weightBefore.elements)
        #expect(optimizer.stateBytes() == before)
        // And training goes on.
        try optimizer.observe(layer, inputs: x, outputGradients: dy)
        try optimizer.step(layer, weight: &weight, gradient: gradient)
        #expect(try optimizer.skippedSteps(of: layer) == 1)
        #expect(weight.elements != weightBefore.elements)
    }

    /// The name an optimizer's errors carry.
    func operationPrefix<O>(_: O.Type) -> String {
        let name = "\(O.self)"
        if name.contains("NGPlusConfiguration") { return "NGPlusOptimizer" }
        if name.contains("KFACConfiguration") { return "KFACOptimizer" }
        if name.contains("Muon") { return "MuonOptimizer" }
        if name.contains("Shampoo") { return "ShampooOptimizer" }
        return name.contains("Adam") ? "AdamOptimizer" : "SGDOptimizer"
    }
}
