import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// The sums of a residual connection made inside its layers: `Dense` adds the shortcut's value
/// in its output pass, `LayerNorm` the connection's output gradient in its backward pass.
@Suite struct ResidualFusionTests {
    /// `X·Wᵀ + b + R` in one GEMM call below 2¹⁹ multiply-adds and in parts above, against
    /// plain loops in Double: each value within (inputs + 2) roundings of the sum of its terms'
    /// magnitudes.
    @Test(arguments: [(1, 1, 1), (3, 5, 2), (1, 9, 4), (256, 64, 48), (300, 70, 33)])
    func denseAddsTheResidualInItsOutputPass(batch: Int, inputs: Int, outputs: Int) throws {
        var generator = SeededGenerator(seed: 41)
        let dense = try Dense<Float>(inputs: inputs, outputs: outputs, using: &generator)
        dense.weight = Matrix.random(rows: outputs, columns: inputs + 1, using: &generator)
        let x = Matrix<Float>.random(rows: batch, columns: inputs, using: &generator)
        let r = Matrix<Float>.random(rows: batch, columns: outputs, using: &generator)
        let y = try dense.forward(x, adding: r)
        #expect(y.shape == Shape(batch, outputs))
        var worst = 0.0
        for i in 0..<batch {
            for o in 0..<outputs {
                var (sum, magnitude) = (Double(dense.weight[o, inputs]) + Double(r[i, o]), 0.0)
                magnitude = abs(Double(dense.weight[o, inputs])) + abs(Double(r[i, o]))
                for k in 0..<inputs {
                    let term = Double(x[i, k]) * Double(dense.weight[o, k])
                    (sum, magnitude) = (sum + term, magnitude + abs(term))
                }
                worst = max(worst, abs(Double(y[i, o]) - sum) / magnitude)
            }
        }
        #expect(worst <= Double(inputs + 2) * Double(Float.ulpOfOne), "\(worst)")
    }

    /// LayerNorm's input gradient with the residual added block by block (300 rows: three
    /// blocks of `gradientBlock`) has the bits of the gradient and a separate sum; the
    /// parameter gradient is the same.
    @Test func layerNormAddsTheResidualToItsInputGradient() throws {
        var generator = SeededGenerator(seed: 43)
        let norm = try LayerNorm<Float>(width: 24)
        norm.weight = Matrix.random(rows: 1, columns: 48, using: &generator)
        let x = Matrix<Float>.random(rows: 300, columns: 24, using: &generator)
        let dy = Matrix<Float>.random(rows: 300, columns: 24, using: &generator)
        let r = Matrix<Float>.random(rows: 300, columns: 24, using: &generator)
        _ = try norm.forward(x)
        let plain = try norm.backward(dy).elements
        let plainParameters = norm.parameterGradient.elements
        let fused = try norm.backward(dy, adding: r).elements
        #expect(fused == zip(plain, r.elements).map { $0 + $1 })
        #expect(norm.parameterGradient.elements == plainParameters)
    }

    /// A pre-LayerNorm block `x + Dense(LN(x))` makes both sums inside its layers; in Double it
    /// agrees with the layers run apart and summed (the forward sum associated otherwise, so
    /// within a few roundings; the backward sum the same bits), and its input gradient with
    /// finite differences.
    @Test func aFusedBlockMatchesItsLayersRunApart() throws {
        var generator = SeededGenerator(seed: 44)
        let (norm, dense) = (try LayerNorm<Double>(width: 5), try Dense<Double>(inputs: 5, outputs: 5, using: &generator))
        norm.weight = Matrix.random(rows: 1, columns: 10, using: &generator)
        dense.weight = Matrix.random(rows: 5, columns: 6, using: &generator)
        let (apartNorm, apartDense) = (try LayerNorm<Double>(width: 5), try Dense<Double>(inputs: 5, outputs: 5, using: &generator))
        (apartNorm.weight, apartDense.weight) = (norm.weight, dense.weight)
        let block = try Residual<Double>([norm, dense])
        let x = Matrix<Double>.random(rows: 7, columns: 5, using: &generator)
        let dy = Matrix<Double>.random(rows: 7, columns: 5, using: &generator)

        let y = try block.forward(x).elements
        let apart = zip(x.elements, try apartDense.forward(try apartNorm.forward(x)).elements).map { $0 + $1 }
        let forwardError = zip(y, apart).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(forwardError < 1e-14, "\(forwardError)")
        let dx = try block.backward(dy)
        let apartDX = zip(dy.elements, try apartNorm.backward(try apartDense.backward(dy)).elements).map { $0 + $1 }
        #expect(dx.elements == apartDX)
        #expect(try finiteDifferenceError(input: x, upstream: dy, forward: { try block.forward($0) }, analytic: dx) < 1e-7)
    }

    /// Layers whose output is not the shortcut's shape are refused with the same error whether
    /// the connection sums them itself or its last layer does.
    @Test func layersOfAnotherWidthAreRefusedAlike() throws {
        var generator = SeededGenerator(seed: 46)
        let x = Matrix<Double>.random(rows: 3, columns: 4, using: &generator)
        let expected = NGError.shapeMismatch(
            operation: .residualForward, argument: "output of the layers (must have the shortcut's shape)",
            expected: Shape(3, 4), actual: Shape(3, 2))
        let fused = try Residual<Double>([try LayerNorm<Double>(width: 4), try Dense<Double>(inputs: 4, outputs: 2, using: &generator)])
        #expect(throws: expected) { try fused.forward(x) }
        let summed = try Residual<Double>([try Dense<Double>(inputs: 4, outputs: 2, using: &generator), GELU<Double>()])
        #expect(throws: expected) { try summed.forward(x) }
    }

    /// A residual of the wrong shape is refused before anything changes: the layer keeps the
    /// input of its last forward pass, so its backward pass and the gradient it hands over are
    /// those of that pass.
    @Test func aResidualOfTheWrongShapeChangesNothing() throws {
        var generator = SeededGenerator(seed: 45)
        let dense = try Dense<Double>(inputs: 3, outputs: 2, using: &generator)
        let x = Matrix<Double>.random(rows: 4, columns: 3, using: &generator)
        let dy = Matrix<Double>.random(rows: 4, columns: 2, using: &generator)
        _ = try dense.forward(x, adding: Matrix(rows: 4, columns: 2))
        _ = try dense.backward(dy)
        let gradient = try handedGradient(dense)
        let other = Matrix<Double>.random(rows: 5, columns: 3, using: &generator)
        #expect(throws: NGError.self) { try dense.forward(other, adding: Matrix(rows: 5, columns: 3)) }
        #expect(throws: NGError.self) { try dense.forward(other, adding: Matrix(rows: 4, columns: 2)) }
        _ = try dense.backward(dy)
        #expect(try handedGradient(dense).elements == gradient.elements)

        let norm = try LayerNorm<Double>(width: 3)
        _ = try norm.forward(x)
        let inputGradient = try norm.backward(x).elements
        #expect(throws: NGError.self) { try norm.backward(x, adding: Matrix(rows: 4, columns: 2)) }
        #expect(throws: NGError.self) { try norm.backward(other, adding: other) }
        #expect(try norm.backward(x).elements == inputGradient)
    }
}
