import Foundation
import NGPlus
import NGTestSupport
import Testing

/// `StepGraft.gradientNorm`: per layer the step takes NG+'s direction and the size of the
/// unpreconditioned gradient's (of Adam's step for `adamNorm`). With no momentum and no decay, a grafted step is
/// `ΔW = lr·‖G‖·D/‖D‖` with D the ungrafted direction — checked against an ungrafted twin
/// (itself checked against the reference elsewhere) and ‖G‖ from plain loops in Double.
@Suite struct StepGraftTests {
    static func configuration(graft: StepGraft, side: SideChoice, fused: Bool) -> NGPlusConfiguration {
        NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 0.3, momentum: 0, weightDecay: 0), damping: .constant(0.02),
            inverseInterval: 1, side: side, method: .explicitInverse, batchSize: 6, fusedApply: fused, graft: graft)
    }

    /// `G = dYᵀ·[X 1]` by plain loops, row-major.
    static func denseGradient(_ x: Matrix<Double>, _ dy: Matrix<Double>) -> [Double] {
        let (batch, inputs, outputs) = (x.rows, x.columns, dy.columns)
        var gradient = [Double](repeating: 0, count: outputs * (inputs + 1))
        for o in 0..<outputs {
            for j in 0...inputs {
                for i in 0..<batch { gradient[o * (inputs + 1) + j] += dy[i, o] * (j < inputs ? x[i, j] : 1) }
            }
        }
        return gradient
    }

    /// Adam's step by plain loops (β₁ 0.9, β₂ 0.999, ε 10⁻⁸), value by value.
    struct AdamReference {
        var m: [Double]
        var v: [Double]

        init(count: Int) {
            m = Array(repeating: 0, count: count)
            v = m
        }

        /// The step of value k from its gradient g at step `step` (from 1).
        mutating func step(_ g: Double, at k: Int, step: Int) -> Double {
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            let mHat = m[k] / (1 - pow(0.9, Double(step)))
            let vHat = v[k] / (1 - pow(0.999, Double(step)))
            return mHat / (vHat.squareRoot() + 1e-8)
        }
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
            let squared = Self.denseGradient(x, dy).reduce(0) { $0 + $1 * $1 }
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

    /// `StepGraft.adamNorm`: the step is `lr·‖A‖·D/‖D‖` with A Adam's step (β₁ 0.9, β₂ 0.999,
    /// ε 10⁻⁸) from the gradients so far, its moments kept by plain loops in Double here — on
    /// both sides, fused and formed, over steps whose moments differ from the first step's.
    @Test(arguments: [SideChoice.left, .right], [false, true])
    func anAdamGraftedStepHasAdamsStepsNorm(side: SideChoice, fused: Bool) throws {
        let (outputs, inputs, batch) = (3, 4, 6)
        var grafted = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .adamNorm, side: side, fused: fused))
        var plain = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .none, side: side, fused: fused))
        let spec = LayerSpec.dense(outputs: outputs, inputs: inputs, bias: true)
        let (a, b) = (try grafted.register(spec), try plain.register(spec))
        var generator = SeededGenerator(seed: 93)
        let weight = Matrix<Double>.random(rows: outputs, columns: inputs + 1, using: &generator)
        var adam = AdamReference(count: outputs * (inputs + 1))
        for step in 1...3 {
            let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
            // Gradients of different sizes each step, so that v̂ is not G².
            let dy = Matrix<Double>.random(rows: batch, columns: outputs, scale: 0.1 * Double(step * step), using: &generator)
            var gradient = Matrix<Double>(rows: outputs, columns: inputs + 1)
            try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &gradient)
            var (w1, w2) = (weight, weight)
            try grafted.observe(a, inputs: x, outputGradients: dy)
            if fused {
                try grafted.step(a, weight: &w1, inputs: x, outputGradients: dy)
            } else {
                try grafted.step(a, weight: &w1, gradient: gradient)
            }
            try plain.observe(b, inputs: x, outputGradients: dy)
            try plain.step(b, weight: &w2, gradient: gradient)
            let squared = Self.denseGradient(x, dy).enumerated().reduce(0.0) { sum, element in
                let value = adam.step(element.element, at: element.offset, step: step)
                return sum + value * value
            }
            let error = Self.graftError(
                grafted: Reference(weight) - Reference(w1), ungrafted: Reference(weight) - Reference(w2),
                gradientNorm: squared.squareRoot(), lr: 0.3)
            #expect(error < 1e-12, "step \(step): \(error)")
        }
    }

    /// The graft's moments are state: saved and restored with the optimizer, a restored twin
    /// takes the same next step; and a graft that overflows throws with nothing changed.
    @Test func theAdamGraftsMomentsAreSavedAndAnOverflowChangesNothing() throws {
        let configuration = Self.configuration(graft: .adamNorm, side: .automatic, fused: false)
        var optimizer = try NGPlusOptimizer<Double>(configuration: configuration)
        let layer = try optimizer.register(.matrix(rows: 3, columns: 5))
        var generator = SeededGenerator(seed: 94)
        var weight = Matrix<Double>.random(rows: 3, columns: 5, using: &generator)
        for _ in 0..<2 {
            try optimizer.step(layer, weight: &weight, gradient: .random(rows: 3, columns: 5, using: &generator))
        }
        var twin = try NGPlusOptimizer<Double>(configuration: configuration)
        _ = try twin.register(.matrix(rows: 3, columns: 5))
        try twin.restore(stateBytes: optimizer.stateBytes())
        #expect(twin.stateBytes() == optimizer.stateBytes())
        // A gradient whose square overflows in v: Adam's moments are not finite.
        var huge = Matrix<Double>(rows: 3, columns: 5)
        huge[1, 2] = 1e200
        let (savedState, savedWeight) = (optimizer.stateBytes(), weight)
        #expect(throws: NGError.self) { try optimizer.step(layer, weight: &weight, gradient: huge) }
        #expect(optimizer.stateBytes() == savedState)
        #expect(weight == savedWeight)
        let gradient = Matrix<Double>.random(rows: 3, columns: 5, using: &generator)
        var twinWeight = weight
        try optimizer.step(layer, weight: &weight, gradient: gradient)
        try twin.step(layer, weight: &twinWeight, gradient: gradient)
        #expect(weight == twinWeight)
    }

    /// A table's `adamNorm` step: its looked-up rows move by `lr·‖A‖·D/‖D‖` over those rows
    /// together, A the lazy Adam step of the rows (the moments of rows not looked up stay), D
    /// the ungrafted twin's rows; rows not looked up do not move.
    @Test func aTablesLookedUpRowsGraftOnTheirLazyAdamStep() throws {
        let (vocabulary, width) = (8, 3)
        var grafted = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .adamNorm, side: .automatic, fused: false))
        var plain = try NGPlusOptimizer<Double>(configuration: Self.configuration(graft: .none, side: .automatic, fused: false))
        let spec = LayerSpec.embedding(vocabulary: vocabulary, width: width)
        let (a, b) = (try grafted.register(spec), try plain.register(spec))
        var generator = SeededGenerator(seed: 95)
        let table = Matrix<Double>.random(rows: vocabulary, columns: width, using: &generator)
        var adam = AdamReference(count: vocabulary * width)
        for (step, lookups) in [[0, 2, 2, 5], [2, 7], [1, 5, 0]].enumerated() {
            let dy = Matrix<Double>.random(rows: lookups.count, columns: width, scale: Double(step + 1), using: &generator)
            var (t1, t2) = (table, table)
            try grafted.step(a, table: &t1, lookups: lookups, outputGradients: dy)
            try plain.step(b, table: &t2, lookups: lookups, outputGradients: dy)
            var gradient = Reference(rows: vocabulary, columns: width)
            for (r, row) in lookups.enumerated() { for j in 0..<width { gradient[row, j] += dy[r, j] } }
            let rows = Array(Set(lookups)).sorted()
            var squared = 0.0
            for row in rows {
                for j in 0..<width {
                    let value = adam.step(gradient[row, j], at: row * width + j, step: step + 1)
                    squared += value * value
                }
            }
            let (moved1, moved2) = (Reference(table) - Reference(t1), Reference(table) - Reference(t2))
            for row in 0..<vocabulary where !rows.contains(row) {
                #expect((0..<width).allSatisfy { moved1[row, $0] == 0 }, "row \(row) moved")
            }
            let error = Self.graftError(grafted: moved1, ungrafted: moved2, gradientNorm: squared.squareRoot(), lr: 0.3)
            #expect(error < 1e-12, "step \(step): \(error)")
        }
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
