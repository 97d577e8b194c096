import Foundation
import NGPlus
import NGTestSupport
import Testing

/// NG+ on an Adam base (`NGPlusConfiguration.adam`, the authors' SchNet setup): the direction
/// `F̂⁻¹·G` goes into Adam instead of momentum SGD — checked against a Double reference with
/// plain loops on a dense layer, an embedding table and a vector.
@Suite struct NGPlusAdamBaseTests {
    /// One Adam step of `direction` on `weight` (decoupled decay on every column but the bias).
    static func adamStep(
        _ weight: inout Reference, direction: Reference, first: inout Reference, second: inout Reference, step: Int,
        settings: AdamSettings, decayColumns: Int
    ) {
        let lr = settings.learningRate.value(at: step)
        let (c1, c2) = (1 - pow(settings.beta1, Double(step + 1)), 1 - pow(settings.beta2, Double(step + 1)))
        for i in 0..<weight.rows {
            for j in 0..<weight.columns {
                let g = direction[i, j]
                first[i, j] = settings.beta1 * first[i, j] + (1 - settings.beta1) * g
                second[i, j] = settings.beta2 * second[i, j] + (1 - settings.beta2) * g * g
                let s = (first[i, j] / c1) / ((second[i, j] / c2).squareRoot() + settings.epsilon)
                let keep = j < decayColumns ? 1 - lr * settings.weightDecay : 1
                weight[i, j] = keep * weight[i, j] - lr * s
            }
        }
    }

    static let settings = AdamSettings(learningRate: .constant(0.01), weightDecay: 0.1, weightDecayMode: .decoupled)

    @Test(arguments: [Side.left, .right])
    func denseLayerTakesAdamAlongTheDirection(side: Side) throws {
        let (outputs, inputs, batch, lambda) = (3, 4, 5, 0.05)
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            damping: .constant(lambda), inverseInterval: 1, side: side == .left ? .left : .right,
            method: .explicitInverse, batchSize: batch, fusedApply: true, adam: Self.settings))
        let layer = try optimizer.register(.dense(outputs: outputs, inputs: inputs, bias: true))
        var generator = SeededGenerator(seed: 71)
        var weight = Matrix<Double>.random(rows: outputs, columns: inputs + 1, using: &generator)
        var expected = Reference(weight)
        var (first, second) = (Reference(rows: outputs, columns: inputs + 1), Reference(rows: outputs, columns: inputs + 1))
        for step in 0..<3 {
            let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
            let dy = Matrix<Double>.random(rows: batch, columns: outputs, scale: 0.2, using: &generator)
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
            // Per-sample gradients B·dy_i·x̃_iᵀ, their mean G̃, the GFIM of the side.
            let width = inputs + 1
            var gradient = Reference(rows: outputs, columns: width)
            var gfim = Reference(rows: side == .left ? outputs : width, columns: side == .left ? outputs : width)
            for i in 0..<batch {
                var sample = Reference(rows: outputs, columns: width)
                for o in 0..<outputs { for j in 0..<width { sample[o, j] = Double(batch) * dy[i, o] * (j < inputs ? x[i, j] : 1) } }
                gradient = gradient + (1 / Double(batch)) * sample
                gfim = gfim + (1 / Double(batch)) * (side == .left ? sample * sample.transposed : sample.transposed * sample)
            }
            let damped = gfim + lambda.squareRoot() * Reference.identity(gfim.rows)
            let direction = side == .left ? damped.inverse * gradient : gradient * damped.inverse
            Self.adamStep(&expected, direction: direction, first: &first, second: &second, step: step,
                          settings: Self.settings, decayColumns: inputs)
            // Adam's step divides by √v: a direction's relative error κ·ε carries into it.
            let error = relativeError(Reference(weight), expected)
            #expect(error < 64 * Double(step + 1) * Double.ulpOfOne * damped.conditionNumber, "step \(step): \(error)")
        }
    }

    @Test func embeddingRowsAndVectorsTakeAdamToo() throws {
        let (vocabulary, width, lambda) = (6, 3, 0.1)
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            damping: .constant(lambda), inverseInterval: 1, batchSize: 4, adam: Self.settings))
        let table = try optimizer.register(.embedding(vocabulary: vocabulary, width: width))
        let vector = try optimizer.register(.vector(length: 4))
        var generator = SeededGenerator(seed: 73)
        var weights = Matrix<Double>.random(rows: vocabulary, columns: width, using: &generator)
        var bias = Matrix<Double>.random(rows: 1, columns: 4, using: &generator)
        var (expected, expectedBias) = (Reference(weights), Reference(bias))
        var (first, second) = (Reference(rows: vocabulary, columns: width), Reference(rows: vocabulary, columns: width))
        var (biasFirst, biasSecond) = (Reference(rows: 1, columns: 4), Reference(rows: 1, columns: 4))
        for step in 0..<3 {
            let lookups = [1, 4, 1, step]
            let dy = Matrix<Double>.random(rows: 4, columns: width, scale: 0.25, using: &generator)
            let g = Matrix<Double>.random(rows: 1, columns: 4, using: &generator)
            try optimizer.step(table, table: &weights, lookups: lookups, outputGradients: dy)
            try optimizer.step(vector, weight: &bias, gradient: g)
            let rows = Reference(dy)
            let damped = 4 * (rows.transposed * rows) + lambda.squareRoot() * Reference.identity(width)
            var gradient = Reference(rows: vocabulary, columns: width)
            for (r, row) in lookups.enumerated() { for j in 0..<width { gradient[row, j] += dy[r, j] } }
            let direction = gradient * damped.inverse
            // Lazy rows: only the looked-up rows' moments and weights move.
            var moved = expected
            var (f, s) = (first, second)
            Self.adamStep(&moved, direction: direction, first: &f, second: &s, step: step, settings: Self.settings,
                          decayColumns: width)
            for row in Set(lookups) {
                for j in 0..<width { (expected[row, j], first[row, j], second[row, j]) = (moved[row, j], f[row, j], s[row, j]) }
            }
            Self.adamStep(&expectedBias, direction: Reference(g), first: &biasFirst, second: &biasSecond, step: step,
                          settings: Self.settings, decayColumns: 0)
            #expect(relativeError(Reference(weights), expected) < 64 * Double(step + 1) * Double.ulpOfOne * damped.conditionNumber)
            #expect(relativeError(Reference(bias), expectedBias) < 16 * Double(step + 1) * Double.ulpOfOne)
        }
    }

    /// The base is part of the saved settings: a state resumes on the same base only.
    @Test func theBaseIsSavedAndCheckedOnLoad() throws {
        let configuration = NGPlusConfiguration(inverseInterval: 2, batchSize: 4, adam: Self.settings)
        var optimizer = try NGPlusOptimizer<Float>(configuration: configuration)
        let layer = try optimizer.register(.dense(outputs: 2, inputs: 3, bias: true))
        var weight = Matrix<Float>(rows: 2, columns: 4, repeating: 0.5)
        let x = Matrix<Float>(rows: 4, columns: 3, repeating: 0.3)
        let dy = Matrix<Float>(rows: 4, columns: 2, repeating: 0.1)
        try optimizer.observe(layer, inputs: x, outputGradients: dy)
        try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)
        var same = try NGPlusOptimizer<Float>(configuration: configuration)
        _ = try same.register(.dense(outputs: 2, inputs: 3, bias: true))
        try same.restore(stateBytes: optimizer.stateBytes())
        #expect(same.stateBytes() == optimizer.stateBytes())
        var sgdBased = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 4))
        _ = try sgdBased.register(.dense(outputs: 2, inputs: 3, bias: true))
        let before = sgdBased.stateBytes()
        #expect(throws: NGError.self) { try sgdBased.restore(stateBytes: optimizer.stateBytes()) }
        #expect(sgdBased.stateBytes() == before)
        #expect(throws: NGError.self) {
            try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(adam: AdamSettings(beta1: 1)))
        }
    }
}
