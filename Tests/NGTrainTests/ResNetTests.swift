import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// The ResNet's parts — global average pooling, residual blocks with a shortcut of their own,
/// the ReLU fused into a block — against hand-checked values, central finite differences in
/// Double and the unfused layers, and `Model.resnet`:
/// its shape, the gradient of the whole network's loss (batch normalization by the batch's
/// statistics included) against finite differences, a short run that learns, and bad sizes.
@Suite struct ResNetTests {
    @Test func globalAveragePoolingHandCheckedAndAgainstFiniteDifferences() throws {
        let pool = try GlobalAveragePool<Double>(channels: 2, positions: 3)
        let y = try pool.forward(try Matrix(rows: 2, columns: 6, elements: [1, 2, 3, 10, 20, 30, 0, 0, 3, -3, 3, 6]))
        #expect(y.elements == [2, 20, 1, 2])
        var generator = SeededGenerator(seed: 501)
        // 300 positions: more than one block of the ones the pooling multiplies by.
        for (rows, channels, positions) in [(1, 1, 1), (3, 2, 5), (2, 1, 300)] {
            let pool = try GlobalAveragePool<Double>(channels: channels, positions: positions)
            let x = Matrix<Double>.random(rows: rows, columns: channels * positions, using: &generator)
            let g = Matrix<Double>.random(rows: rows, columns: channels, using: &generator)
            _ = try pool.forward(x)
            let dx = try pool.backward(g)
            #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try pool.forward($0) }, analytic: dx) < 1e-8)
        }
        #expect(throws: NGError.self) { try GlobalAveragePool<Double>(channels: 0, positions: 3) }
        #expect(throws: NGError.self) { try pool.forward(Matrix(rows: 2, columns: 5)) }
        #expect(throws: NGError.self) { try pool.backward(Matrix(rows: 2, columns: 3)) }
    }

    /// `y = s(x) + f(x)` with a shortcut that changes the width (dense 4 → 3 on both paths): the
    /// input gradient sums both paths; the model finds both paths' parameters.
    @Test func aResidualWithAShortcutSumsBothPaths() throws {
        var generator = SeededGenerator(seed: 502)
        let block = try Residual<Double>(
            [try Dense<Double>(inputs: 4, outputs: 3, using: &generator), ReLU<Double>()],
            shortcut: [try Dense<Double>(inputs: 4, outputs: 3, using: &generator)])
        let x = Matrix<Double>.random(rows: 5, columns: 4, using: &generator)
        let g = Matrix<Double>.random(rows: 5, columns: 3, using: &generator)
        _ = try block.forward(x)
        let dx = try block.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try block.forward($0) }, analytic: dx) < 1e-7)
        #expect(Model<Double>(layers: [block]).trainableLayers.count == 2)
        let mismatched = try Residual<Double>([try Dense<Double>(inputs: 4, outputs: 3, using: &generator)])
        #expect(throws: NGError.self) { try mismatched.forward(x) }   // 3 wide against an identity of 4
    }

    /// `Residual(rectify: true)` against the same connection then `ReLU`, with the identity and
    /// with a shortcut of its own: the same bits forward and backward in Float and Double, on
    /// enough rows (20,000 × 4) that both cores take a share of each pass.
    @Test(arguments: [false, true])
    func aRectifiedResidualIsTheConnectionThenReLUToTheBit(withShortcut: Bool) throws {
        try expectRectifiedResidualMatchesComposition(Float.self, withShortcut: withShortcut)
        try expectRectifiedResidualMatchesComposition(Double.self, withShortcut: withShortcut)
    }

    func expectRectifiedResidualMatchesComposition<Scalar: NetworkScalar>(
        _: Scalar.Type, withShortcut: Bool
    ) throws {
        func block(rectify: Bool) throws -> Residual<Scalar> {
            var generator = SeededGenerator(seed: 505)
            let main = try Dense<Scalar>(inputs: 4, outputs: withShortcut ? 3 : 4, using: &generator)
            let shortcut = withShortcut ? [try Dense<Scalar>(inputs: 4, outputs: 3, using: &generator)] : []
            return try Residual<Scalar>([main], shortcut: shortcut, rectify: rectify)
        }
        let (fused, plain, relu) = (try block(rectify: true), try block(rectify: false), ReLU<Scalar>())
        var generator = SeededGenerator(seed: 506)
        let x = Matrix<Scalar>.random(rows: 20_000, columns: 4, using: &generator)
        let g = Matrix<Scalar>.random(rows: 20_000, columns: withShortcut ? 3 : 4, using: &generator)
        func same(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>) -> Bool {
            a.shape == b.shape && zip(a.elements, b.elements).allSatisfy { $0 == $1 && $0.sign == $1.sign }
        }
        let y = try fused.forward(x)
        #expect(same(y, try relu.forward(plain.forward(x))), "\(Scalar.self) forward")
        #expect(y.elements.contains(0) && y.elements.contains { $0 > 0 }, "both sides of the ReLU")
        #expect(same(try fused.backward(g), try plain.backward(relu.backward(g))), "\(Scalar.self) backward")
    }

    /// A ResNet of two stages (2 and 4 channels, one block each) on 6 × 6 images: the loss's
    /// gradient in the input, through convolutions, batch normalization, the strided
    /// shortcut, pooling and the dense layer, against finite differences of the loss.
    @Test func theWholeNetworksGradientMatchesFiniteDifferences() throws {
        let model = try Model<Double>.resnet(height: 6, width: 6, classes: 3, widths: [2, 4], blocks: 1, seed: 3)
        var generator = SeededGenerator(seed: 503)
        let x = Matrix<Double>.random(rows: 3, columns: 36, using: &generator)
        let labels = [0, 2, 1][...]
        var loss = SoftmaxCrossEntropy<Double>()
        func lossOf(_ input: Matrix<Double>) throws -> Double {
            var logits = input
            for layer in model.layers { logits = try layer.forward(logits) }
            return try loss.loss(logits: logits, labels: labels)
        }
        _ = try lossOf(x)
        // The input gradient: the first layer computes none, so read it from the second.
        var gradient = loss.gradient
        for layer in model.layers.dropFirst().reversed() { gradient = try layer.backward(gradient) }
        let stemOutput = try model.layers[0].forward(x)
        var worst = 0.0
        let h = 1e-6
        for j in 0..<min(stemOutput.columns, 40) {
            var (plus, minus) = (stemOutput, stemOutput)
            plus[1, j] += h
            minus[1, j] -= h
            func rest(_ input: Matrix<Double>) throws -> Double {
                var logits = input
                for layer in model.layers.dropFirst() { logits = try layer.forward(logits) }
                return try loss.loss(logits: logits, labels: labels)
            }
            let numeric = (try rest(plus) - rest(minus)) / (2 * h)
            worst = max(worst, abs(numeric - gradient[1, j]) / max(1, abs(numeric)))
        }
        #expect(worst < 1e-6)
        #expect(try model.forward(x).shape == Shape(3, 3))
    }

    @Test func aShortRunLearns() throws {
        let model = try Model<Float>.resnet(height: 8, width: 8, widths: [4, 8], blocks: 1, seed: 5)
        var optimizer = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.05, momentum: 0.9))
        try model.register(with: &optimizer)
        // Ten classes, each its own bright 2 × 2 square on a dark 8 × 8 image, with noise.
        var generator = SeededGenerator(seed: 504)
        let labels = (0..<32).map { $0 % 10 }
        let x = Matrix<Float>(rows: 32, columns: 64) { r, c in
            let (row, column, square) = (c / 8, c % 8, labels[r])
            let inside = row / 2 == square / 4 && column / 2 == square % 4
            return (inside ? 1 : 0) + Float(Double.random(in: -0.1...0.1, using: &generator))
        }
        let first = try model.trainStep(x, labels: labels[...], optimizer: &optimizer)
        var last = first
        for _ in 0..<60 { last = try model.trainStep(x, labels: labels[...], optimizer: &optimizer) }
        #expect(last < 0.5 * first, "the loss went from \(first) to \(last)")
    }

    @Test func badSizesAreRefused() {
        #expect(throws: NGError.self) { try Model<Float>.resnet(widths: [], seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.resnet(blocks: 0, seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.resnet(widths: [4, 0], seed: 1) }
        #expect(throws: NGError.self) { try Model<Float>.resnet(height: 0, seed: 1) }
    }
}
