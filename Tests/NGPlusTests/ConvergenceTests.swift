import Foundation
import NGPlus
import NGTestSupport
import Testing

/// Logistic regression on inputs scaled from 0.1 to 10 (Hessian condition ≈ 10⁴), labels
/// drawn from the model itself: there the per-sample GFIM on the right side, `(1/B)·Σ
/// (p_i − y_i)²·x̃_i·x̃_iᵀ`, matches the Hessian in expectation, so NG+ takes near-Newton steps
/// while gradient descent crawls along the flat directions.
struct LogisticProblem {
    let batch = 256
    let inputs = 5
    let x: Matrix<Double>
    let labels: [Double]
    /// The optimal mean loss, by Newton's method in plain loops.
    var optimalLoss = 0.0

    init() {
        var generator = SeededGenerator(seed: 91)
        let scales = [0.1, 0.3, 1, 3, 10]
        let (batch, inputs) = (256, 5)
        x = Matrix(rows: batch, columns: inputs) { _, j in scales[j] * Double.random(in: -1...1, using: &generator) }
        let truth = (0...inputs).map { j in Double.random(in: -1...1, using: &generator) / (j < inputs ? scales[j] : 1) }
        let x = self.x
        labels = (0..<batch).map { i in
            let z = (0..<inputs).reduce(truth[inputs]) { $0 + truth[$1] * x[i, $1] }
            return Double.random(in: 0..<1, using: &generator) < 1 / (1 + exp(-z)) ? 1 : 0
        }
        optimalLoss = newtonOptimum()
    }

    func augmented(_ i: Int, _ j: Int) -> Double { j < inputs ? x[i, j] : 1 }

    func loss(_ w: Matrix<Double>) -> Double {
        (0..<batch).reduce(0) { total, i in
            let z = (0...inputs).reduce(0) { $0 + w[0, $1] * augmented(i, $1) }
            return total + (max(z, 0) + log(1 + exp(-abs(z))) - labels[i] * z) / Double(batch)
        }
    }

    /// dY (B × 1): the gradient of the mean loss with respect to each logit.
    func outputGradients(_ w: Matrix<Double>) -> Matrix<Double> {
        Matrix(rows: batch, columns: 1) { i, _ in
            let z = (0...inputs).reduce(0) { $0 + w[0, $1] * augmented(i, $1) }
            return (1 / (1 + exp(-z)) - labels[i]) / Double(batch)
        }
    }

    func newtonOptimum() -> Double {
        var w = Reference(rows: inputs + 1, columns: 1)
        for _ in 0..<30 {
            var gradient = Reference(rows: inputs + 1, columns: 1)
            var hessian = Reference(rows: inputs + 1, columns: inputs + 1)
            for i in 0..<batch {
                let z = (0...inputs).reduce(0) { $0 + w[$1, 0] * augmented(i, $1) }
                let p = 1 / (1 + exp(-z))
                for a in 0...inputs {
                    gradient[a, 0] += (p - labels[i]) * augmented(i, a) / Double(batch)
                    for b in 0...inputs { hessian[a, b] += p * (1 - p) * augmented(i, a) * augmented(i, b) / Double(batch) }
                }
            }
            w = w - hessian.inverse * gradient
        }
        return loss(try! Matrix(rows: 1, columns: inputs + 1, elements: w.values))
    }

    /// Steps until the loss is within 1e-6 of the optimum (nil after `limit`).
    func stepsToConverge<O: LayerOptimizer>(_ optimizer: inout O, limit: Int) throws -> Int? where O.Scalar == Double {
        let layer = try optimizer.register(.dense(outputs: 1, inputs: inputs, bias: true))
        var w = Matrix<Double>(rows: 1, columns: inputs + 1)
        for t in 0..<limit {
            let dy = outputGradients(w)
            try optimizer.observe(layer, inputs: x, outputGradients: dy)
            try optimizer.step(layer, weight: &w, inputs: x, outputGradients: dy)
            let value = loss(w)
            if !value.isFinite { return nil }
            if value - optimalLoss < 1e-6 { return t + 1 }
        }
        return nil
    }
}

@Suite struct ConvergenceTests {
    @Test func ngPlusConvergesInFarFewerStepsThanTheBestSGD() throws {
        let problem = LogisticProblem()
        var ngplus = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 1, momentum: 0, weightDecay: 0), damping: 1e-6,
            inverseInterval: 1, side: .right, batchSize: problem.batch))
        let ngplusSteps = try #require(try problem.stepsToConverge(&ngplus, limit: 200))
        #expect(ngplusSteps <= 30)

        // SGD with momentum 0.9 at the best learning rate of a grid (larger ones diverge).
        var best = Int.max
        for lr in [0.1, 0.3, 1.0] {
            var sgd = try SGDOptimizer<Double>(settings: SGDSettings(learningRate: .constant(lr), momentum: 0.9))
            if let steps = try problem.stepsToConverge(&sgd, limit: 20 * ngplusSteps) { best = min(best, steps) }
        }
        #expect(best > 20 * ngplusSteps, "SGD converged in \(best) steps, NG+ in \(ngplusSteps)")
    }
}
