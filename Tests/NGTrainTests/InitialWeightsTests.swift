import Foundation
import NGPlus
import NGTrain
import Testing

/// A layer's initial weights are a fixed function of the generator: normal deviates by
/// Box–Muller from two uniform draws each, times the layer's deviation, in row-major order, a
/// bias column zero and drawn from nowhere, so that the layers built from one generator continue
/// one stream. The reference draws the same stream in plain Double loops.
@Suite struct InitialWeightsTests {
    /// The reference stream: `count` deviates, then the generator as it is left.
    static func deviates(_ count: Int, _ generator: inout SeededGenerator) -> [Double] {
        (0..<count).map { _ in
            let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &generator)
            let u2 = Double.random(in: 0..<1, using: &generator)
            return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        }
    }

    /// Rows of `columns` values: the first `drawn` of each from the stream times `deviation`,
    /// the rest 0.
    static func expected<Scalar: NetworkScalar>(
        rows: Int, columns: Int, drawn: Int, deviation: Double, _ generator: inout SeededGenerator
    ) -> [Scalar] {
        let values = deviates(rows * drawn, &generator)
        return (0..<rows * columns).map { index in
            let (i, j) = index.quotientAndRemainder(dividingBy: columns)
            return j < drawn ? Scalar(deviation * values[i * drawn + j]) : 0
        }
    }

    static func elements<Scalar: BLASScalar>(_ matrix: Matrix<Scalar>) -> [Scalar] {
        (0..<matrix.rows).flatMap { i in (0..<matrix.columns).map { j in matrix[i, j] } }
    }

    @Test(arguments: [1, 3, 17])
    func layersBuiltInTurnContinueOneStream(inputs: Int) throws {
        try check(Float.self, inputs: inputs)
        try check(Double.self, inputs: inputs)
    }

    func check<Scalar: NetworkScalar>(_: Scalar.Type, inputs: Int) throws {
        var generator = SeededGenerator(seed: 4_041)
        var reference = generator
        let dense = try Dense<Scalar>(inputs: inputs, outputs: 2, using: &generator)
        let geometry = try ConvGeometry(inChannels: 2, height: 4, width: 4, kernelHeight: 3, kernelWidth: 2)
        let conv = try Conv2d<Scalar>(geometry: geometry, outChannels: 3, using: &generator)
        let tokens = try TokenEmbedding<Scalar>(vocabulary: 5, width: 4, using: &generator)
        let bag = try EmbeddingBag<Scalar>(vocabulary: 7, width: 3, bag: 2, using: &generator)

        let denseExpected: [Scalar] = Self.expected(
            rows: 2, columns: inputs + 1, drawn: inputs, deviation: (2 / Double(inputs)).squareRoot(), &reference)
        #expect(Self.elements(dense.weight) == denseExpected)
        let patch = 2 * 3 * 2
        let convExpected: [Scalar] = Self.expected(
            rows: 3, columns: patch + 1, drawn: patch, deviation: (2 / Double(patch)).squareRoot(), &reference)
        #expect(Self.elements(conv.weight) == convExpected)
        let tokensExpected: [Scalar] = Self.expected(
            rows: 5, columns: 4, drawn: 4, deviation: (2 / 5.0).squareRoot(), &reference)
        #expect(Self.elements(tokens.weight) == tokensExpected)
        let bagExpected: [Scalar] = Self.expected(
            rows: 7, columns: 3, drawn: 3, deviation: (1 / 3.0).squareRoot(), &reference)
        #expect(Self.elements(bag.weight) == bagExpected)
        #expect(generator.next() == reference.next())
    }
}
