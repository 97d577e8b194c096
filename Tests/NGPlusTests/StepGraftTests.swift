import Foundation
import NGPlus
import NGTestSupport
import Testing

/// `StepGraft.gradientNorm`: per layer the step takes NG+'s direction and the size of the
/// unpreconditioned gradient's. With no momentum and no decay, a grafted step is
/// `ΔW = lr·‖G‖·D/‖D‖` with D the ungrafted direction — checked against an ungrafted twin
/// (itself checked against the reference elsewhere) and ‖G‖ from plain loops in Double.
@Suite struct StepGraftTests {
    static func configuration(graft: StepGraft, side: SideChoice, fused: Bool) -> NGPlusConfiguration {
        NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 0.3, momentum: 0, weightDecay: 0), damping: .constant(0.02),
            inverseInterval: 1, side: side, method: .explicitInverse, batchSize: 6, fusedApply: fused, graft: graft)
    }

    /// `ΔW_grafted` against `lr·‖G‖·ΔW/‖ΔW‖`, relative to its size.
    static func graftError(grafted: Reference, ungrafted: Reference, gradientNorm: Double, lr: Double) -> Double {
        let norm = ungrafted.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let expected = (lr * gradientNorm / norm) * ungrafted
        return relativeError(grafted, expected)
    }

    @Test(arguments: [SideChoice.left, .right], [false, true])
    func aDenseStepHasTheGradientsNormAndNGPlussDirection(side: SideChoice, fused: Bool) throws {
        let (outputs, inputs, batch) = (3, 5, 6)
        var grafted = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .gradientNorm, side: side, fused: fused))
        var plain = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .none, side: side, fused: fused))
        let spec = LayerSpec.dense(outputs: outputs, inputs: inputs, bias: true)
        let (a, b) = (try grafted.register(spec), try plain.register(spec))
        var generator = SeededGenerator(seed: 91)
        let weight = Matrix<Double>.random(rows: outputs, columns: inputs + 1, using: &generator)
        // With no momentum and no decay a step does not depend on the weights: both
        // optimizers take each step from the same weights and statistics.
        func stepped(_ optimizer: inout NGPlusOptimizer<Double>, _ layer: LayerHandle, _ x: Matrix<Double>, _ dy: Matrix<Double>) throws -> Matrix<Double> {
            var w = weight
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            if fused {
                try optimizer.step(layer, weight: &w, inputs: x, outputGradients: dy)
            } else {
                var gradient = Matrix<Double>(rows: outputs, columns: inputs + 1)
                try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
                try optimizer.step(layer, weight: &w, gradient: gradient)
            }
            return w
        }
        for step in 0..<3 {
            let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
            let dy = Matrix<Double>.random(rows: batch, columns: outputs, scale: 0.2, using: &generator)
            let (w1, w2) = (try stepped(&grafted, a, x, dy), try stepped(&plain, b, x, dy))
            // G = dYᵀ·[X 1], by plain loops.
            var squared = 0.0
            for o in 0..<outputs {
                for j in 0...inputs {
                    var g = 0.0
                    for i in 0..<batch { g += dy[i, o] * (j < inputs ? x[i, j] : 1) }
                    squared += g * g
                }
            }
            let error = Self.graftError(
                grafted: Reference(weight) - Reference(w1), ungrafted: Reference(weight) - Reference(w2),
                gradientNorm: squared.squareRoot(), lr: 0.3)
            #expect(error < 1e-12, "step \(step): \(error)")
        }
    }

    @Test func aMatrixParameterGraftsOnItsMomentumsNorm() throws {
        var grafted = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .gradientNorm, side: .automatic, fused: false))
        var plain = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .none, side: .automatic, fused: false))
        let spec = LayerSpec.matrix(rows: 4, columns: 7)
        let (a, b) = (try grafted.register(spec), try plain.register(spec))
        var generator = SeededGenerator(seed: 92)
        let weight = Matrix<Double>.random(rows: 4, columns: 7, using: &generator)
        let gradient = Matrix<Double>.random(rows: 4, columns: 7, scale: 0.5, using: &generator)
        var (w1, w2) = (weight, weight)
        try grafted.step(a, weight: &w1, gradient: gradient)
        try plain.step(b, weight: &w2, gradient: gradient)
        let norm = Reference(gradient).values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let error = Self.graftError(
            grafted: Reference(weight) - Reference(w1), ungrafted: Reference(weight) - Reference(w2), gradientNorm: norm, lr: 0.3)
        #expect(error < 1e-12, "\(error)")
    }

    /// A configuration saved before grafting existed (no `graft` key) decodes to no graft, and
    /// a grafted one survives the round trip.
    @Test func configurationsSavedBeforeGraftingDecodeToNoGraft() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var saved = try JSONSerialization.jsonObject(with: try encoder.encode(NGPlusConfiguration())) as! [String: Any]
        #expect(saved.removeValue(forKey: "graft") != nil)
        let old = try JSONSerialization.data(withJSONObject: saved)
        #expect(try JSONDecoder().decode(NGPlusConfiguration.self, from: old) == NGPlusConfiguration())
        let grafted = NGPlusConfiguration(graft: .gradientNorm)
        #expect(try JSONDecoder().decode(NGPlusConfiguration.self, from: try encoder.encode(grafted)) == grafted)
    }

    @Test func theAuthorsPresetDoesNotGraft() {
        #expect(NGPlusConfiguration.authors.graft == .none)
        #expect(NGPlusConfiguration().graft == .none)
    }
}
