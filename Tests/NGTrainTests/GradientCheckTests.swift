import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// Central finite differences in Double: for L = Σ g ⊙ f(x), dL/dx from `backward` against
/// (L(x + h) − L(x − h)) / 2h, element by element.
func finiteDifferenceError(
    input: Matrix<Double>, upstream: Matrix<Double>, forward: (Matrix<Double>) throws -> Matrix<Double>,
    analytic: Matrix<Double>
) throws -> Double {
    func objective(_ x: Matrix<Double>) throws -> Double {
        let y = try forward(x)
        return zip(y.elements, upstream.elements).reduce(0) { $0 + $1.0 * $1.1 }
    }
    var worst = 0.0
    let h = 1e-6
    for i in 0..<input.rows {
        for j in 0..<input.columns {
            var plus = input
            var minus = input
            plus[i, j] += h
            minus[i, j] -= h
            let numeric = (try objective(plus) - objective(minus)) / (2 * h)
            worst = max(worst, abs(numeric - analytic[i, j]) / max(1, abs(numeric)))
        }
    }
    return worst
}

/// The gradient a trainable layer hands its optimizer after its backward pass, read back
/// through a plain SGD step of rate 1 (`W − (W − ∇) = ∇`, in Float up to the rounding of
/// `W − ∇`); the parameter is put back.
func handedGradient<Layer: TrainableLayer>(_ layer: Layer) throws -> Matrix<Double> {
    var sgd = try SGDOptimizer<Layer.Scalar>(settings: SGDSettings(learningRate: 1, momentum: 0))
    layer.handle = try sgd.register(layer.spec)
    let before = layer.weight
    try layer.update(with: &sgd)
    let gradient = Matrix<Double>(rows: before.rows, columns: before.columns) { i, j in
        Double(before[i, j]) - Double(layer.weight[i, j])
    }
    layer.weight = before
    return gradient
}

/// The largest magnitude of a matrix's values (0 for an empty one).
func largestMagnitude(_ m: Matrix<Double>) -> Double { m.elements.reduce(0) { max($0, abs($1)) } }

/// The parameter gradient a trainable layer hands its optimizer after a forward and backward
/// pass (`handedGradient`) against central finite differences of `Σ g ⊙ forward(x)` in the
/// parameter; the parameter is put back.
func parameterFiniteDifferenceError<Layer: TrainableLayer>(
    _ layer: Layer, input x: Matrix<Double>, upstream g: Matrix<Double>
) throws -> Double where Layer.Scalar == Double {
    let before = layer.weight
    defer { layer.weight = before }
    let gradient = try handedGradient(layer)
    return try finiteDifferenceError(input: before, upstream: g, forward: { w in
        layer.weight = w
        return try layer.forward(x)
    }, analytic: gradient)
}

/// For the trainable `layers` inside a container whose forward and backward passes have just
/// run: each one's gradient, as its optimizer receives it (read back through a plain SGD step
/// of rate 1, the parameter put back), against central finite differences of
/// `Σ g ⊙ forward()` in that parameter. Returns the worst relative error of each layer.
func containedParameterErrors(
    _ layers: [any TrainableLayer<Double>], upstream g: Matrix<Double>, forward: () throws -> Matrix<Double>
) throws -> [Double] {
    let gradients = try layers.map { try handedGradient($0) }
    return try zip(layers, gradients).map { layer, gradient in
        let weight = layer.weight
        return try finiteDifferenceError(input: weight, upstream: g, forward: { w in
            layer.weight = w
            defer { layer.weight = weight }
            return try forward()
        }, analytic: gradient)
    }
}

@Suite struct GradientCheckTests {
    @Test func denseInputAndWeightGradientsMatchFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 201)
        let layer = try Dense<Double>(inputs: 5, outputs: 3, using: &generator)
        layer.weight = Matrix.random(rows: 3, columns: 6, using: &generator)
        let x = Matrix<Double>.random(rows: 4, columns: 5, using: &generator)
        let g = Matrix<Double>.random(rows: 4, columns: 3, using: &generator)
        _ = try layer.forward(x)
        let dx = try layer.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try layer.forward($0) }, analytic: dx) < 1e-7)
        // The weight gradient the optimizers receive: G̃ = dYᵀ·[X | 1].
        var gradient = Matrix<Double>(rows: 3, columns: 6)
        try DenseGradient.weightGradient(inputs: x, outputGradients: g, bias: true, into: &gradient)
        let weight = layer.weight
        let error = try finiteDifferenceError(input: weight, upstream: g, forward: { w in
            layer.weight = w
            return try layer.forward(x)
        }, analytic: gradient)
        #expect(error < 1e-7)
    }

    /// Y = X·Wᵀ + b against a plain Double loop for batches of 1, 3 and 301 rows (one GEMM onto
    /// bias rows: fewer than 2¹⁹ multiply-adds), of 600 (two parts, one after the other: fewer
    /// than 2²⁰), of 1,200 (two parts on two threads at once) and of 4,100 (four parts of
    /// unequal length).
    @Test(arguments: [1, 3, 301, 600, 1200, 4100])
    func denseForwardMatchesAPlainLoop(batch: Int) throws {
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)   // left set, as other tests do
        var generator = SeededGenerator(seed: 207)
        let (inputs, outputs) = (7, 130)
        let layer = try Dense<Double>(inputs: inputs, outputs: outputs, using: &generator)
        layer.weight = Matrix.random(rows: outputs, columns: inputs + 1, using: &generator)
        let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
        let y = try layer.forward(x)
        for i in 0..<batch {
            for o in 0..<outputs {
                let want = (0..<inputs).reduce(layer.weight[o, inputs]) { $0 + x[i, $1] * layer.weight[o, $1] }
                #expect(abs(y[i, o] - want) <= 1e-13, "row \(i), output \(o)")
            }
        }
    }

    @Test func conv2dInputAndWeightGradientsMatchFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 202)
        let geometry = try ConvGeometry(inChannels: 2, height: 5, width: 4, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1)
        let layer = try Conv2d<Double>(geometry: geometry, outChannels: 3, using: &generator)
        layer.weight = Matrix.random(rows: 3, columns: geometry.patchSize + 1, using: &generator)
        let x = Matrix<Double>.random(rows: 2, columns: geometry.inputLength, using: &generator)
        let g = Matrix<Double>.random(rows: 2, columns: 3 * geometry.positions, using: &generator)
        _ = try layer.forward(x)
        let dx = try layer.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try layer.forward($0) }, analytic: dx) < 1e-7)

        #expect(try parameterFiniteDifferenceError(layer, input: x, upstream: g) < 1e-7)
    }

    @Test func reluAndMaxPoolGradientsMatchFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 203)
        let relu = ReLU<Double>()
        let x = Matrix<Double>.random(rows: 3, columns: 7, using: &generator)
        let g = Matrix<Double>.random(rows: 3, columns: 7, using: &generator)
        _ = try relu.forward(x)
        let dx = try relu.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try relu.forward($0) }, analytic: dx) < 1e-7)

        let pool = try MaxPool2x2<Double>(channels: 2, height: 4, width: 6)
        let px = Matrix<Double>.random(rows: 2, columns: 48, using: &generator)
        let pg = Matrix<Double>.random(rows: 2, columns: 12, using: &generator)
        _ = try pool.forward(px)
        let pdx = try pool.backward(pg)
        #expect(try finiteDifferenceError(input: px, upstream: pg, forward: { try pool.forward($0) }, analytic: pdx) < 1e-7)
        #expect(throws: NGError.self) { try MaxPool2x2<Double>(channels: 1, height: 3, width: 4) }
    }

    @Test func softmaxCrossEntropyGradientMatchesFiniteDifferencesAndIsStable() throws {
        var generator = SeededGenerator(seed: 204)
        let logits = Matrix<Double>.random(rows: 4, columns: 5, scale: 3, using: &generator)
        let labels = [0, 3, 4, 1][...]
        var loss = SoftmaxCrossEntropy<Double>()
        _ = try loss.loss(logits: logits, labels: labels)
        let analytic = loss.gradient
        var worst = 0.0
        for i in 0..<4 {
            for j in 0..<5 {
                var plus = logits
                var minus = logits
                plus[i, j] += 1e-6
                minus[i, j] -= 1e-6
                var probe = SoftmaxCrossEntropy<Double>()
                let numeric = (try probe.loss(logits: plus, labels: labels) - probe.loss(logits: minus, labels: labels)) / 2e-6
                worst = max(worst, abs(numeric - analytic[i, j]))
            }
        }
        #expect(worst < 1e-8)
        // Huge logits neither overflow nor lose the answer.
        let huge = try Matrix<Float>(rows: 1, columns: 3, elements: [1000, 0, -1000])
        var floatLoss = SoftmaxCrossEntropy<Float>()
        #expect(try floatLoss.loss(logits: huge, labels: [0][...]) < 1e-6)
        #expect(abs(try floatLoss.loss(logits: huge, labels: [1][...]) - 1000) < 1e-3)
        #expect(throws: NGError.self) { try floatLoss.loss(logits: huge, labels: [3][...]) }
    }

    /// The Float loss (its exponentials by `FloatMath.exp`) against the loss and gradient
    /// computed in Double with plain loops, on shapes from 1 × 1 to a byte model's 256 classes;
    /// logits of no row or no class are refused.
    @Test(arguments: [(1, 1), (1, 7), (5, 1), (3, 10), (33, 256)])
    func floatSoftmaxCrossEntropyMatchesADoubleReference(rows: Int, classes: Int) throws {
        var generator = SeededGenerator(seed: UInt64(rows * 1000 + classes))
        let logits = Matrix<Float>.random(rows: rows, columns: classes, scale: 8, using: &generator)
        let labels = (0..<rows).map { _ in Int.random(in: 0..<classes, using: &generator) }
        var loss = SoftmaxCrossEntropy<Float>()
        let value = try loss.loss(logits: logits, labels: labels[...])
        var expected = 0.0
        for i in 0..<rows {
            let row = (0..<classes).map { Double(logits[i, $0]) }
            let largest = row.max()!
            let sum = row.reduce(0) { $0 + exp($1 - largest) }
            expected += (largest + log(sum) - row[labels[i]]) / Double(rows)
            for j in 0..<classes {
                let gradient = (exp(row[j] - largest) / sum - (j == labels[i] ? 1 : 0)) / Double(rows)
                // A probability in Float: a few ulp of 1 (exp ≤ 2 ulp, the sum, the division).
                #expect(abs(Double(loss.gradient[i, j]) - gradient) <= 4 * Double(Float.ulpOfOne) / Double(rows))
            }
        }
        // log Σ and the logits carry Float's relative error of the terms, as large as 8·|z|.
        #expect(abs(value - expected) <= 1e-5 * max(1, abs(expected)))
        #expect(throws: NGError.self) { try loss.loss(logits: Matrix<Float>(rows: 0, columns: classes), labels: [][...]) }
        #expect(throws: NGError.self) { try loss.loss(logits: Matrix<Float>(rows: rows, columns: 0), labels: labels[...]) }
    }
}
