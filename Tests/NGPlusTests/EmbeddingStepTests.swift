import Foundation
import NGPlus
import NGTestSupport
import Testing

/// Embedding tables stepped from their lookups (`LayerSpec.embedding`), against a dense
/// reference in Double with plain loops: the table's whole vocabulary × width gradient
/// (`G[i] = Σ_{r: lookup r reads i} dY[r]`), the optimizers' state for every row, and the lazy
/// rule that only the looked-up rows (those with a lookup) move — repeated lookups included.
@Suite struct EmbeddingStepTests {
    /// One step's lookups and output gradients, drawn with repeats.
    struct Batch {
        let lookups: [Int]
        let outputGradients: Matrix<Double>

        init(vocabulary: Int, width: Int, lookups count: Int, using generator: inout SeededGenerator) {
            // Rows drawn from the lower half of the table more often: repeats, and rows left out.
            lookups = (0..<count).map { _ in Int.random(in: 0..<max(1, (vocabulary + 1) / 2), using: &generator) }
            outputGradients = .random(rows: count, columns: width, scale: 1 / Double(count), using: &generator)
        }

        /// The dense gradient of the table and each row's lookup count.
        func denseGradient(vocabulary: Int) -> (gradient: Reference, counts: [Int]) {
            let width = outputGradients.columns
            var gradient = Reference(rows: vocabulary, columns: width)
            var counts = Array(repeating: 0, count: vocabulary)
            for (r, row) in lookups.enumerated() {
                counts[row] += 1
                for j in 0..<width { gradient[row, j] += outputGradients[r, j] }
            }
            return (gradient, counts)
        }

        /// `F_new = L·dYᵀ·dY` over the L lookups.
        var gfim: Reference {
            let dy = Reference(outputGradients)
            return Double(lookups.count) * (dy.transposed * dy)
        }
    }

    /// The lazy momentum-SGD step of one row, in place: `d ← D + wd·W`, `v ← μ·v + d`,
    /// `W ← W − lr·v`.
    static func sgdRow(
        _ row: Int, direction: Reference, weight: inout Reference, velocity: inout Reference, lr: Double, mu: Double,
        decay: Double
    ) {
        for j in 0..<weight.columns {
            let d = direction[row, j] + decay * weight[row, j]
            velocity[row, j] = mu * velocity[row, j] + d
            weight[row, j] -= lr * velocity[row, j]
        }
    }

    static let shapes: [(vocabulary: Int, width: Int, lookups: Int)] = [(1, 1, 1), (7, 3, 9), (5, 4, 1), (12, 2, 5)]

    @Test(arguments: shapes)
    func sgdStepsOnlyTheLookedUpRows(shape: (vocabulary: Int, width: Int, lookups: Int)) throws {
        let (lr, mu, decay) = (0.1, 0.9, 0.01)
        var optimizer = try SGDOptimizer<Double>(settings: SGDSettings(learningRate: .constant(lr), momentum: mu, weightDecay: decay))
        let layer = try optimizer.register(.embedding(vocabulary: shape.vocabulary, width: shape.width))
        var generator = SeededGenerator(seed: 41)
        var table = Matrix<Double>.random(rows: shape.vocabulary, columns: shape.width, using: &generator)
        var expected = Reference(table)
        var velocity = Reference(rows: shape.vocabulary, columns: shape.width)
        for step in 0..<4 {
            let batch = Batch(vocabulary: shape.vocabulary, width: shape.width, lookups: shape.lookups, using: &generator)
            try optimizer.step(layer, table: &table, lookups: batch.lookups, outputGradients: batch.outputGradients)
            let (gradient, counts) = batch.denseGradient(vocabulary: shape.vocabulary)
            for row in 0..<shape.vocabulary where counts[row] > 0 {
                Self.sgdRow(row, direction: gradient, weight: &expected, velocity: &velocity, lr: lr, mu: mu, decay: decay)
            }
            // A few roundings per value and step: sums of at most `lookups` terms, one update.
            let error = relativeError(Reference(table), expected)
            #expect(error < Double(4 * (shape.lookups + 4)) * Double.ulpOfOne, "step \(step): \(error)")
            for row in 0..<shape.vocabulary where counts[row] == 0 && velocity.block(row..<row + 1, 0..<shape.width).norm == 0 {
                // A row never looked up is exactly as it was.
                #expect(Reference(table).block(row..<row + 1, 0..<shape.width) == expected.block(row..<row + 1, 0..<shape.width))
            }
        }
    }

    /// Adam's weight decay of either mode: decoupled shrinks the row, L2 adds `wd·W` to its
    /// gradient before the moments.
    @Test(arguments: shapes, [WeightDecayMode.decoupled, .l2])
    func adamStepsOnlyTheLookedUpRows(shape: (vocabulary: Int, width: Int, lookups: Int), mode: WeightDecayMode) throws {
        let settings = AdamSettings(learningRate: .constant(0.01), weightDecay: 0.1, weightDecayMode: mode)
        var optimizer = try AdamOptimizer<Double>(settings: settings)
        let layer = try optimizer.register(.embedding(vocabulary: shape.vocabulary, width: shape.width))
        var generator = SeededGenerator(seed: 43)
        var table = Matrix<Double>.random(rows: shape.vocabulary, columns: shape.width, using: &generator)
        var expected = Reference(table)
        var (first, second) = (Reference(rows: shape.vocabulary, columns: shape.width), Reference(rows: shape.vocabulary, columns: shape.width))
        for step in 0..<4 {
            let batch = Batch(vocabulary: shape.vocabulary, width: shape.width, lookups: shape.lookups, using: &generator)
            try optimizer.step(layer, table: &table, lookups: batch.lookups, outputGradients: batch.outputGradients)
            let (gradient, counts) = batch.denseGradient(vocabulary: shape.vocabulary)
            let (c1, c2) = (1 - pow(0.9, Double(step + 1)), 1 - pow(0.999, Double(step + 1)))
            for row in 0..<shape.vocabulary where counts[row] > 0 {
                for j in 0..<shape.width {
                    let g = gradient[row, j] + (mode == .l2 ? 0.1 * expected[row, j] : 0)
                    first[row, j] = 0.9 * first[row, j] + 0.1 * g
                    second[row, j] = 0.999 * second[row, j] + 0.001 * g * g
                    let s = (first[row, j] / c1) / ((second[row, j] / c2).squareRoot() + 1e-8)
                    expected[row, j] = (mode == .decoupled ? 1 - 0.01 * 0.1 : 1) * expected[row, j] - 0.01 * s
                }
            }
            // Adam's step divides by √v: a relative rounding of the gradient sum becomes one of
            // the step, so the bound is a few ε per value per step, scaled by the step count.
            let error = relativeError(Reference(table), expected)
            #expect(error < Double(16 * (shape.lookups + 4) * (step + 1)) * Double.ulpOfOne, "step \(step): \(error)")
        }
    }

    /// NG+ with a running average (α = 0.5), statistics and refreshes every second step, the
    /// inverse frozen in between, momentum and L2 decay after preconditioning.
    @Test(arguments: shapes)
    func ngPlusPreconditionsTheRowsOnTheRight(shape: (vocabulary: Int, width: Int, lookups: Int)) throws {
        let (lr, mu, decay, lambda, alpha) = (0.05, 0.9, 0.01, 0.1, 0.5)
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: .constant(lr), momentum: mu, weightDecay: decay), damping: .constant(lambda),
            inverseInterval: 2, runningAverage: alpha, batchSize: shape.lookups))
        let layer = try optimizer.register(.embedding(vocabulary: shape.vocabulary, width: shape.width))
        let plan = try #require(try optimizer.plan(for: layer))
        #expect(plan.side == .right && plan.order == shape.width)
        var generator = SeededGenerator(seed: 47)
        var table = Matrix<Double>.random(rows: shape.vocabulary, columns: shape.width, using: &generator)
        var expected = Reference(table)
        var velocity = Reference(rows: shape.vocabulary, columns: shape.width)
        var gfim = Reference(rows: shape.width, columns: shape.width)
        var inverse = Reference.identity(shape.width)
        var kappa = 1.0
        for step in 0..<5 {
            let batch = Batch(vocabulary: shape.vocabulary, width: shape.width, lookups: shape.lookups, using: &generator)
            try optimizer.step(layer, table: &table, lookups: batch.lookups, outputGradients: batch.outputGradients)
            if step % 2 == 0 {
                gfim = step == 0 ? batch.gfim : (1 - alpha) * gfim + alpha * batch.gfim
                let damped = gfim + lambda.squareRoot() * Reference.identity(shape.width)
                inverse = damped.inverse
                kappa = max(kappa, damped.conditionNumber)
            }
            let (gradient, counts) = batch.denseGradient(vocabulary: shape.vocabulary)
            let direction = gradient * inverse
            for row in 0..<shape.vocabulary where counts[row] > 0 {
                Self.sgdRow(row, direction: direction, weight: &expected, velocity: &velocity, lr: lr, mu: mu, decay: decay)
            }
            let error = relativeError(Reference(table), expected)
            #expect(error < Double(64 * (step + 1)) * Double.ulpOfOne * kappa, "step \(step): \(error), κ \(kappa)")
        }
    }

    /// K-FAC: the output factor as NG+'s GFIM, each row also divided by its damped lookup
    /// frequency, the frequencies averaged (α = 0.5) over every row at every statistics step —
    /// densely here, lazily in the optimizer.
    @Test(arguments: shapes)
    func kfacDividesEachRowByItsFrequency(shape: (vocabulary: Int, width: Int, lookups: Int)) throws {
        let (lr, lambda, alpha) = (0.05, 0.1, 0.5)
        var optimizer = try KFACOptimizer<Double>(configuration: KFACConfiguration(
            sgd: SGDSettings(learningRate: .constant(lr), momentum: 0), damping: .constant(lambda), inverseInterval: 1,
            runningAverage: alpha, batchSize: shape.lookups))
        let layer = try optimizer.register(.embedding(vocabulary: shape.vocabulary, width: shape.width))
        var generator = SeededGenerator(seed: 53)
        var table = Matrix<Double>.random(rows: shape.vocabulary, columns: shape.width, using: &generator)
        var expected = Reference(table)
        var factor = Reference(rows: shape.width, columns: shape.width)
        var frequencies = Array(repeating: 0.0, count: shape.vocabulary)
        let shift = lambda.squareRoot()
        for step in 0..<4 {
            let batch = Batch(vocabulary: shape.vocabulary, width: shape.width, lookups: shape.lookups, using: &generator)
            try optimizer.step(layer, table: &table, lookups: batch.lookups, outputGradients: batch.outputGradients)
            let (gradient, counts) = batch.denseGradient(vocabulary: shape.vocabulary)
            let weight = step == 0 ? 1 : alpha
            factor = (1 - weight) * factor + weight * batch.gfim
            for row in 0..<shape.vocabulary {
                frequencies[row] = (1 - weight) * frequencies[row] + weight * Double(counts[row]) / Double(shape.lookups)
            }
            let damped = factor + shift * Reference.identity(shape.width)
            let direction = gradient * damped.inverse
            for row in 0..<shape.vocabulary where counts[row] > 0 {
                for j in 0..<shape.width { expected[row, j] -= lr * direction[row, j] / (frequencies[row] + shift) }
            }
            let error = relativeError(Reference(table), expected)
            #expect(error < Double(64 * (step + 1)) * Double.ulpOfOne * damped.conditionNumber, "step \(step): \(error)")
        }
    }

    /// One code path for Float and Double: NG+ in Float follows the Double run to Float's
    /// rounding.
    @Test func floatFollowsDouble() throws {
        let configuration = NGPlusConfiguration(damping: .constant(0.1), inverseInterval: 2, batchSize: 6)
        var single = try NGPlusOptimizer<Float>(configuration: configuration)
        var double = try NGPlusOptimizer<Double>(configuration: configuration)
        let (a, b) = (try single.register(.embedding(vocabulary: 9, width: 5)), try double.register(.embedding(vocabulary: 9, width: 5)))
        var generator = SeededGenerator(seed: 59)
        var tableDouble = Matrix<Double>.random(rows: 9, columns: 5, using: &generator)
        var tableFloat = Matrix<Float>(rows: 9, columns: 5) { Float(tableDouble[$0, $1]) }
        tableDouble = Matrix(rows: 9, columns: 5) { Double(tableFloat[$0, $1]) }
        for _ in 0..<4 {
            let batch = Batch(vocabulary: 9, width: 5, lookups: 6, using: &generator)
            let dy = Matrix<Float>(rows: 6, columns: 5) { Float(batch.outputGradients[$0, $1]) }
            let dyDouble = Matrix<Double>(rows: 6, columns: 5) { Double(dy[$0, $1]) }
            try single.step(a, table: &tableFloat, lookups: batch.lookups, outputGradients: dy)
            try double.step(b, table: &tableDouble, lookups: batch.lookups, outputGradients: dyDouble)
        }
        let error = relativeError(Reference(tableFloat), Reference(tableDouble))
        #expect(error < 1e-5, "\(error)")
        #expect(error > 0, "the Float run computed in Float")
    }
}
