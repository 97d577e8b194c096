import NGPlus
import NGTestSupport
import Testing

/// A dense layer inside a sequence model (docs/ALGORITHM.md §2a, "sequence models"): B sequences of
/// T tokens are B·T rows, every row a sample of the GFIM, as the authors do for SchNet's atoms.
/// The layer hands NG+ the B·T rows and the gradients of the loss averaged over all of them (the
/// usual token-mean cross-entropy). The reference is written from the tokens' own loss
/// gradients g_r = ∂ℓ_r/∂y_r, in Double with plain loops: per-token weight gradients
/// `g_r·x̃_rᵀ`, their mean for G̃, the mean of their outer products for F.
@Suite struct SequenceRowsTests {
    @Test(arguments: [(Side.left, 2, 5), (.right, 3, 4), (.left, 1, 1)])
    func tokenRowsAreTheSamplesOfTheGFIM(side: Side, sequences: Int, tokens: Int) throws {
        let (outputs, inputs, rows) = (3, 4, sequences * tokens)
        let (lambda, lr) = (1e-2, 0.1)
        var generator = SeededGenerator(seed: 29)
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: .constant(lr), momentum: 0), damping: .constant(lambda), inverseInterval: 1,
            side: side == .left ? .left : .right, method: .explicitInverse, batchSize: rows, fusedApply: true))
        let layer = try optimizer.register(.dense(outputs: outputs, inputs: inputs, bias: true))
        var weight = Matrix<Double>.random(rows: outputs, columns: inputs + 1, using: &generator)
        var expected = Reference(weight)
        for step in 0..<3 {
            // Token r of sequence s is row s·T + t: its input and its own loss gradient.
            let x = Matrix<Double>.random(rows: rows, columns: inputs, using: &generator)
            let g = Matrix<Double>.random(rows: rows, columns: outputs, using: &generator)
            // The gradients of the token-mean loss (1/(B·T))·Σ ℓ_r.
            let dy = Matrix<Double>(rows: rows, columns: outputs) { r, o in g[r, o] / Double(rows) }
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: dy)

            let width = inputs + 1
            let order = side == .left ? outputs : width
            var gradient = Reference(rows: outputs, columns: width)
            var gfim = Reference(rows: order, columns: order)
            for r in 0..<rows {
                var token = Reference(rows: outputs, columns: width)   // ∂ℓ_r/∂W̃ = g_r·x̃_rᵀ
                for o in 0..<outputs {
                    for j in 0..<width { token[o, j] = g[r, o] * (j < inputs ? x[r, j] : 1) }
                }
                gradient = gradient + (1 / Double(rows)) * token
                gfim = gfim + (1 / Double(rows)) * (side == .left ? token * token.transposed : token.transposed * token)
            }
            let inverse = (gfim + lambda.squareRoot() * Reference.identity(order)).inverse
            let direction = side == .left ? inverse * gradient : gradient * inverse
            expected = expected - lr * direction
            // A step's relative error is a few ε·κ(F̂); three steps, κ(F̂) ≤ 1 + ‖F‖/√λ.
            let kappa = 1 + gfim.norm / lambda.squareRoot()
            let error = relativeError(Reference(weight), expected)
            #expect(error < 3 * 64 * Double.ulpOfOne * kappa, "step \(step): \(error), κ ≤ \(kappa)")
        }
    }
}
