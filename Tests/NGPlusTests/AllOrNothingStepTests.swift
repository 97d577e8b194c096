import NGPlus
import NGTestSupport
import Testing

/// A step that throws has changed nothing, byte for byte, on the paths where the last check
/// comes after the expensive work: inputs that are finite but whose products overflow, on a
/// refresh step (a new inverse already computed) and off one (a momentum already formed).
@Suite struct AllOrNothingStepTests {
    /// Finite values whose products overflow Float: ‖dY‖·‖X‖ summed over a batch of 128.
    static let huge: Float = 1e30

    /// A 256→10 dense layer at batch 128, fused step, on a refresh step after good steps:
    /// G̃ = dYᵀ·[X | 1] (10 rows, fewer than the batch, so the step forms it) overflows.
    @Test(arguments: [SideChoice.left, .right], [CurvatureMethod.explicitInverse, .woodbury])
    func fusedDenseStepWithOverflowingGradient(side: SideChoice, method: CurvatureMethod) throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: 2, side: side, method: method, batchSize: 128, fusedApply: true))
        let layer = try optimizer.register(.dense(outputs: 10, inputs: 256, bias: true))
        var generator = SeededGenerator(seed: 5)
        var weight = Matrix<Float>.random(rows: 10, columns: 257, scale: 0.1, using: &generator)
        for _ in 0..<2 {
            let x = Matrix<Float>.random(rows: 128, columns: 256, using: &generator)
            let dy = Matrix<Float>.random(rows: 128, columns: 10, scale: 0.01, using: &generator)
            if optimizer.usesObservation(layer) { try optimizer.observe(layer, inputs: x, outputGradients: dy) }
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        }
        // Step 2 refreshes: good statistics, then inputs whose gradient overflows.
        let x = Matrix<Float>.random(rows: 128, columns: 256, using: &generator)
        let dy = Matrix<Float>.random(rows: 128, columns: 10, scale: 0.01, using: &generator)
        try optimizer.observe(layer, inputs: x, outputGradients: dy)
        let before = optimizer.stateBytes()
        let weightBefore = weight
        let hugeX = Matrix<Float>(rows: 128, columns: 256, repeating: Self.huge)
        let hugeDY = Matrix<Float>(rows: 128, columns: 10, repeating: Self.huge)
        #expect(throws: NGError.self) {
            try optimizer.step(layer, weight: &weight, inputs: hugeX, outputGradients: hugeDY)
        }
        expectUnchanged(optimizer.stateBytes(), before, weight, weightBefore)
        // The optimizer is not stuck: the same step with good inputs goes through.
        try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        #expect(try optimizer.stepCount(of: layer) == 3)
        #expect(weight.firstNonFiniteIndex() == nil)
    }

    /// K-FAC, gradient and fused forms, on a refresh step: `G⁻¹·∇W̃` overflows between the two
    /// factor applications, after both inverses were computed.
    @Test(arguments: [false, true])
    func kfacStepWithOverflowingDirection(fused: Bool) throws {
        var optimizer = try KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 8))
        let layer = try optimizer.register(.dense(outputs: 6, inputs: 5, bias: true))
        var generator = SeededGenerator(seed: 9)
        var weight = Matrix<Float>.random(rows: 6, columns: 6, scale: 0.1, using: &generator)
        func batch() -> (Matrix<Float>, Matrix<Float>) {
            (Matrix<Float>.random(rows: 8, columns: 5, using: &generator),
             Matrix<Float>.random(rows: 8, columns: 6, scale: 0.01, using: &generator))
        }
        for _ in 0..<2 {
            let (x, dy) = batch()
            if optimizer.usesObservation(layer) { try optimizer.observe(layer, inputs: x, outputGradients: dy) }
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        }
        let (x, dy) = batch()
        try optimizer.observe(layer, inputs: x, outputGradients: dy)
        let before = optimizer.stateBytes()
        let weightBefore = weight
        #expect(throws: NGError.self) {
            if fused {
                let hugeX = Matrix<Float>(rows: 8, columns: 5, repeating: Self.huge)
                let hugeDY = Matrix<Float>(rows: 8, columns: 6, repeating: Self.huge)
                try optimizer.step(layer, weight: &weight, inputs: hugeX, outputGradients: hugeDY)
            } else {
                let hugeGradient = Matrix<Float>(rows: 6, columns: 6, repeating: .greatestFiniteMagnitude)
                try optimizer.step(layer, weight: &weight, gradient: hugeGradient)
            }
        }
        expectUnchanged(optimizer.stateBytes(), before, weight, weightBefore)
        try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        #expect(weight.firstNonFiniteIndex() == nil)
    }

    /// The matrix form with statistics every 2 steps, off a statistics step: the momentum of
    /// the largest finite gradient is finite, its preconditioned direction is not. Before, the
    /// step wrote infinities into the weight without an error, and every later step threw.
    @Test(arguments: [1, 2])
    func matrixStepWithOverflowingDirection(statisticsInterval: Int) throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: 2, statisticsInterval: statisticsInterval))
        let layer = try optimizer.register(.matrix(rows: 4, columns: 3))
        var generator = SeededGenerator(seed: 3)
        var weight = Matrix<Float>.random(rows: 4, columns: 3, using: &generator)
        for _ in 0..<3 {
            try optimizer.step(layer, weight: &weight, gradient: .random(rows: 4, columns: 3, scale: 0.1, using: &generator))
        }
        let before = optimizer.stateBytes()
        let weightBefore = weight
        let hugeGradient = Matrix<Float>(rows: 4, columns: 3, repeating: .greatestFiniteMagnitude)
        #expect(throws: NGError.self) {
            try optimizer.step(layer, weight: &weight, gradient: hugeGradient)
        }
        expectUnchanged(optimizer.stateBytes(), before, weight, weightBefore)
        try optimizer.step(layer, weight: &weight, gradient: .random(rows: 4, columns: 3, scale: 0.1, using: &generator))
        #expect(weight.firstNonFiniteIndex() == nil)
    }

    /// The baselines: an update that overflows the weight is refused, state untouched.
    @Test func firstOrderStepsWithOverflowingUpdates() throws {
        var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 10, momentum: 0.9))
        var adam = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: 1e38))
        let sgdLayer = try sgd.register(.matrix(rows: 3, columns: 2))
        let adamLayer = try adam.register(.matrix(rows: 3, columns: 2))
        var weight = Matrix<Float>(rows: 3, columns: 2, repeating: -3e38)
        let gradient = Matrix<Float>(rows: 3, columns: 2, repeating: 1e38)
        let (sgdBefore, adamBefore) = (sgd.stateBytes(), adam.stateBytes())
        #expect(throws: NGError.self) { try sgd.step(sgdLayer, weight: &weight, gradient: gradient) }
        #expect(throws: NGError.self) { try adam.step(adamLayer, weight: &weight, gradient: gradient) }
        expectUnchanged(sgd.stateBytes(), sgdBefore, weight, Matrix(rows: 3, columns: 2, repeating: -3e38))
        expectUnchanged(adam.stateBytes(), adamBefore, weight, Matrix(rows: 3, columns: 2, repeating: -3e38))
    }

    /// Damping so small that its shift vanishes in Float (λ = 1e-80: √λ underflows to 0;
    /// λ = 1e-50: 1 + √λ rounds to 1) never writes non-finite weights: the step throws with
    /// nothing changed, or its weights are finite.
    @Test(arguments: [1e-80, 1e-50])
    func vanishingDampingNeverWritesNonFiniteWeights(damping: Double) throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            damping: .constant(damping), inverseInterval: 1, side: .left, method: .explicitInverse, batchSize: 4))
        let layer = try optimizer.register(.dense(outputs: 8, inputs: 3, bias: true))
        var generator = SeededGenerator(seed: 17)
        var weight = Matrix<Float>.random(rows: 8, columns: 4, using: &generator)
        for _ in 0..<3 {
            let x = Matrix<Float>.random(rows: 4, columns: 3, using: &generator)
            let dy = Matrix<Float>.random(rows: 4, columns: 8, using: &generator)
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            let (before, weightBefore) = (optimizer.stateBytes(), weight)
            do {
                try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
                #expect(weight.firstNonFiniteIndex() == nil)
            } catch {
                expectUnchanged(optimizer.stateBytes(), before, weight, weightBefore)
                if damping < 1e-60, case .invalidArgument(_, "damping", _)? = error as? NGError {} else if damping < 1e-60 {
                    Issue.record("expected the damping to be refused, got \(error)")
                }
            }
        }
    }

    /// Compared as booleans: a failing `==` on a state would print every byte.
    func expectUnchanged(
        _ state: [UInt8], _ stateBefore: [UInt8], _ weight: Matrix<Float>, _ weightBefore: Matrix<Float>,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (sameState, sameWeight) = (state == stateBefore, weight == weightBefore)
        #expect(sameState, "the optimizer's state changed", sourceLocation: sourceLocation)
        #expect(sameWeight, "the weight changed", sourceLocation: sourceLocation)
    }
}
