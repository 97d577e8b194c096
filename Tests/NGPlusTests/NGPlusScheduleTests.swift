import Foundation
import NGPlus
import NGTestSupport
import Testing

@Suite struct NGPlusScheduleTests {
    @Test func staggeredLayersTakeTheirStatisticsAndRefreshesOnDifferentSteps() throws {
        let k = 3
        var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            inverseInterval: k, staggered: true, batchSize: 2))
        let layers = try (0..<3).map { _ throws(NGError) in try optimizer.register(.dense(outputs: 2, inputs: 3, bias: false)) }
        var generator = SeededGenerator(seed: 111)
        var weights = [Matrix<Double>](repeating: Matrix(rows: 2, columns: 3), count: 3)
        for t in 0..<7 {
            for (j, layer) in layers.enumerated() {
                let x = Matrix<Double>.random(rows: 2, columns: 3, using: &generator)
                let dy = Matrix<Double>.random(rows: 2, columns: 2, using: &generator)
                let due = t == 0 || t % k == j
                if due {
                    // Skipping observe on a layer's own statistics step is refused…
                    #expect(throws: OptimizerError.missingStatistics(operation: "NGPlusOptimizer.step", layer: j, step: t)) {
                        try optimizer.step(layer, weight: &weights[j], inputs: x, outputGradients: dy)
                    }
                    try optimizer.observe(layer, inputs: x, outputGradients: dy)
                }
                // …and on other steps no statistics are needed.
                try optimizer.step(layer, weight: &weights[j], inputs: x, outputGradients: dy)
            }
        }
    }
}
