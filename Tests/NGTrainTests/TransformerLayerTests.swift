import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// The Transformer's elementwise and row-wise layers: GELU and LayerNorm against hand-checked
/// values and central finite differences in Double (inputs and parameters), with batch 1 and
/// width 1 among the shapes, and their bad input.
@Suite struct TransformerLayerTests {
    @Test func geluHandCheckedValues() throws {
        let gelu = GELU<Double>()
        let y = try gelu.forward(try Matrix(rows: 1, columns: 5, elements: [0, 1, -1, 3, -6]))
        // x·Φ(x): Φ(1) = 0.841344746068543, Φ(3) = 0.998650101968370, Φ(−6) = 9.8658765e-10.
        let expected = [0, 0.841344746068543, -0.158655253931457, 2.995950305905109, -5.9195259e-9]
        for (value, want) in zip(y.elements, expected) { #expect(abs(value - want) <= 1e-15 + 1e-8 * abs(want)) }
    }

    @Test(arguments: [(1, 1), (4, 7), (3, 1)])
    func geluGradientMatchesFiniteDifferences(rows: Int, columns: Int) throws {
        var generator = SeededGenerator(seed: 301)
        let gelu = GELU<Double>()
        let x = Matrix<Double>.random(rows: rows, columns: columns, scale: 3, using: &generator)
        let g = Matrix<Double>.random(rows: rows, columns: columns, using: &generator)
        _ = try gelu.forward(x)
        let dx = try gelu.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try gelu.forward($0) }, analytic: dx) < 1e-7)
        #expect(throws: NGError.self) { try gelu.backward(Matrix(rows: rows + 1, columns: columns)) }
    }

    /// Float GELU split over two threads (40,000 values, two chunks) against a Double
    /// reference, within the bounds `GELUReference` derives.
    @Test func floatGELUSplitOverThreadsMatchesADoubleReference() throws {
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        var generator = SeededGenerator(seed: 302)
        let (rows, columns) = (2, 20_000)
        let x = Matrix<Float>.random(rows: rows, columns: columns, scale: 7, using: &generator)
        let dy = Matrix<Float>.random(rows: rows, columns: columns, using: &generator)
        let gelu = GELU<Float>()
        let y = try gelu.forward(x)
        let dx = try gelu.backward(dy)
        let worst = GELUReference.worst(x: x.elements, outputGradient: dy.elements, y: y.elements, dx: dx.elements)
        #expect(worst.forward <= 1)
        #expect(worst.backward <= 1)
    }

    @Test func layerNormHandCheckedValues() throws {
        let norm = try LayerNorm<Double>(width: 3)
        norm.weight = try Matrix(rows: 1, columns: 6, elements: [2, 1, 1, 0, 0, 5])   // γ = (2, 1, 1), β = (0, 0, 5)
        let y = try norm.forward(try Matrix(rows: 2, columns: 3, elements: [1, 2, 3, 4, 4, 4]))
        // Row 1: mean 2, variance 2/3: x̂ = (−1, 0, 1)/√(2/3 + 1e-5). Row 2: constant, x̂ = 0.
        let s = 1 / (2.0 / 3 + 1e-5).squareRoot()
        let expected = [-2 * s, 0, 5 + s, 0, 0, 5]
        for (value, want) in zip(y.elements, expected) { #expect(abs(value - want) < 1e-14) }
    }

    @Test(arguments: [(1, 1), (5, 6), (1, 9), (3, 21)])
    func layerNormGradientsMatchFiniteDifferences(rows: Int, width: Int) throws {
        var generator = SeededGenerator(seed: 302)
        let norm = try LayerNorm<Double>(width: width)
        norm.weight = Matrix.random(rows: 1, columns: 2 * width, using: &generator)
        let x = Matrix<Double>.random(rows: rows, columns: width, scale: 2, using: &generator)
        let g = Matrix<Double>.random(rows: rows, columns: width, using: &generator)
        _ = try norm.forward(x)
        let dx = try norm.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try norm.forward($0) }, analytic: dx) < 1e-6)

        #expect(try parameterFiniteDifferenceError(norm, input: x, upstream: g) < 1e-6)
    }

    /// 300 rows of 130: two threads share the rows forward and the three blocks of the gradient
    /// (128, 128 and 44 rows) backward. Against plain loops in Double — x̂ = (x − μ)/σ,
    /// dx = (g − mean(g) − x̂·mean(g ⊙ x̂))/σ with g = dy ⊙ γ, dγ = Σ dy ⊙ x̂, dβ = Σ dy — and,
    /// in Float, the same bits on one thread and on two.
    @Test func layerNormSplitOverThreadsAndBlocksMatchesPlainLoops() throws {
        var generator = SeededGenerator(seed: 306)
        let (rows, width) = (300, 130)
        let x = Matrix<Double>.random(rows: rows, columns: width, scale: 2, using: &generator)
        let dy = Matrix<Double>.random(rows: rows, columns: width, using: &generator)
        let weight = Matrix<Double>.random(rows: 1, columns: 2 * width, using: &generator)
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        let norm = try LayerNorm<Double>(width: width)
        #expect(rows >= 2 * norm.minimumRows)
        norm.weight = weight
        let y = try norm.forward(x)
        let dx = try norm.backward(dy)
        var (gain, bias) = ([Double](repeating: 0, count: width), [Double](repeating: 0, count: width))
        for r in 0..<rows {
            let row = (0..<width).map { x[r, $0] }
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            let deviation = (variance + 1e-5).squareRoot()
            let hat = row.map { ($0 - mean) / deviation }
            let g = (0..<width).map { dy[r, $0] * weight[0, $0] }
            let (meanG, meanGHat) = (g.reduce(0, +) / Double(width), zip(g, hat).map(*).reduce(0, +) / Double(width))
            for j in 0..<width {
                #expect(abs(y[r, j] - (weight[0, j] * hat[j] + weight[0, width + j])) <= 1e-13)
                #expect(abs(dx[r, j] - (g[j] - meanG - hat[j] * meanGHat) / deviation) <= 1e-13)
                gain[j] += dy[r, j] * hat[j]
                bias[j] += dy[r, j]
            }
        }
        for j in 0..<width {
            #expect(abs(norm.parameterGradient[0, j] - gain[j]) <= 1e-12)
            #expect(abs(norm.parameterGradient[0, width + j] - bias[j]) <= 1e-12)
        }

        var results: [[Matrix<Float>]] = []
        for threads in [1, 2] {
            ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
            let norm = try LayerNorm<Float>(width: width)
            let single = { (m: Matrix<Double>) in Matrix<Float>(rows: m.rows, columns: m.columns) { Float(m[$0, $1]) } }
            norm.weight = single(weight)
            let y = try norm.forward(single(x))
            results.append([y, try norm.backward(single(dy)), norm.parameterGradient])
        }
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        #expect(results[0] == results[1])
    }

    @Test func layerNormRejectsBadSettingsAndShapes() throws {
        #expect(throws: NGError.self) { try LayerNorm<Float>(width: 0) }
        #expect(throws: NGError.self) { try LayerNorm<Float>(width: 4, epsilon: 0) }
        #expect(throws: NGError.self) { try LayerNorm<Float>(width: 4, epsilon: 1e-60) }   // 0 in Float
        let norm = try LayerNorm<Double>(width: 4)
        #expect(throws: NGError.self) { try norm.forward(Matrix(rows: 2, columns: 3)) }
        _ = try norm.forward(Matrix(rows: 2, columns: 4))
        #expect(throws: NGError.self) { try norm.backward(Matrix(rows: 3, columns: 4)) }
    }

    @Test(arguments: [(2, 3, 2, 4), (1, 1, 1, 1), (3, 4, 1, 3), (1, 5, 3, 6)])
    func causalAttentionGradientMatchesFiniteDifferences(sequences: Int, tokens: Int, heads: Int, width: Int) throws {
        var generator = SeededGenerator(seed: 303)
        let attention = try CausalAttention<Double>(sequenceLength: tokens, heads: heads, width: width)
        let x = Matrix<Double>.random(rows: sequences * tokens, columns: 3 * width, scale: 2, using: &generator)
        let g = Matrix<Double>.random(rows: sequences * tokens, columns: width, using: &generator)
        _ = try attention.forward(x)
        let dx = try attention.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try attention.forward($0) }, analytic: dx) < 1e-6)
    }

    /// Blocks of query rows (the last one short) give the gradient of finite differences, and
    /// the outputs and input gradients of one block of all rows to the rounding of the sums
    /// (the blocks sum dK and dV in another order).
    @Test(arguments: [(2, 7, 2, 4, 3), (1, 6, 1, 3, 1), (3, 5, 1, 2, 4), (1, 19, 1, 2, 7)])
    func causalAttentionInBlocksOfRowsMatchesOneBlock(sequences: Int, tokens: Int, heads: Int, width: Int, rowBlock: Int) throws {
        // The (sequence, head) pairs shared by two threads (left set, as other tests do).
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        var generator = SeededGenerator(seed: 305)
        let blocked = try CausalAttention<Double>(sequenceLength: tokens, heads: heads, width: width, rowBlock: rowBlock)
        let whole = try CausalAttention<Double>(sequenceLength: tokens, heads: heads, width: width, rowBlock: tokens)
        #expect(blocked.rowBlock == rowBlock && whole.rowBlock == tokens)
        let x = Matrix<Double>.random(rows: sequences * tokens, columns: 3 * width, scale: 2, using: &generator)
        let g = Matrix<Double>.random(rows: sequences * tokens, columns: width, using: &generator)
        let y = try blocked.forward(x)
        let dx = try blocked.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try blocked.forward($0) }, analytic: dx) < 1e-6)
        _ = try blocked.forward(x)
        let (wholeY, wholeDx) = (try whole.forward(x), try whole.backward(g))
        for (a, b) in zip(y.elements, wholeY.elements) { #expect(abs(a - b) <= 1e-13) }
        for (a, b) in zip(dx.elements, wholeDx.elements) { #expect(abs(a - b) <= 1e-13) }
        // Fewer score entries than T² once there are two blocks: those above the diagonal's.
        let blocks = (tokens + rowBlock - 1) / rowBlock
        #expect(blocked.computedScores < tokens * tokens || blocks == 1)
        #expect(whole.computedScores == tokens * tokens)
        #expect(throws: NGError.self) { try CausalAttention<Double>(sequenceLength: tokens, heads: heads, width: width, rowBlock: 0) }
    }

    /// P made again by the backward pass (a limit below the batch's P) gives the bits of P
    /// kept: the outputs and input gradients equal, in Double and Float, on one thread and two,
    /// over blocks of rows whose last one is short; the limit is checked.
    @Test(arguments: [(2, 7, 2, 4, 3), (1, 1, 1, 1, 1), (3, 19, 1, 4, 16), (2, 40, 4, 32, 16)])
    func attentionMadeAgainMatchesAttentionKeptBitForBit(
        sequences: Int, tokens: Int, heads: Int, width: Int, rowBlock: Int
    ) throws {
        func passes<Scalar: NetworkScalar>(_ limit: Int, _ x: Matrix<Scalar>, _ g: Matrix<Scalar>) throws -> [Matrix<Scalar>] {
            let attention = try CausalAttention<Scalar>(
                sequenceLength: tokens, heads: heads, width: width, rowBlock: rowBlock, probabilityLimit: limit)
            #expect(attention.keepsProbabilities(sequences: sequences) == (limit >= sequences * heads * tokens * tokens))
            return [try attention.forward(x), try attention.backward(g)]
        }
        var generator = SeededGenerator(seed: UInt64(306 + tokens))
        let x = Matrix<Double>.random(rows: sequences * tokens, columns: 3 * width, scale: 2, using: &generator)
        let g = Matrix<Double>.random(rows: sequences * tokens, columns: width, using: &generator)
        let xf = Matrix<Float>(rows: x.rows, columns: x.columns) { r, c in Float(x[r, c]) }
        let gf = Matrix<Float>(rows: g.rows, columns: g.columns) { r, c in Float(g[r, c]) }
        let kept = sequences * heads * tokens * tokens
        for threads in [1, 2] {
            ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
            #expect(try passes(kept, x, g) == passes(kept - 1, x, g))
            #expect(try passes(kept, xf, gf) == passes(0, xf, gf))
        }
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        #expect(throws: NGError.self) {
            try CausalAttention<Float>(sequenceLength: tokens, heads: heads, width: width, probabilityLimit: -1)
        }
    }

    /// A token's output depends on the tokens at or before it only, within its own sequence;
    /// the first token's output is its own V.
    @Test func causalAttentionLooksBackOnly() throws {
        var generator = SeededGenerator(seed: 304)
        let (tokens, width) = (4, 4)
        let attention = try CausalAttention<Double>(sequenceLength: tokens, heads: 2, width: width)
        let x = Matrix<Double>.random(rows: 2 * tokens, columns: 3 * width, using: &generator)
        let before = try attention.forward(x)
        var later = x
        for j in 0..<(3 * width) { later[2, j] += 1 }   // token 2 of sequence 0
        let after = try attention.forward(later)
        for row in 0..<(2 * tokens) {
            let changed = (0..<width).contains { before[row, $0] != after[row, $0] }
            #expect(changed == (row == 2 || row == 3), "row \(row)")
        }
        for j in 0..<width { #expect(before[0, j] == x[0, 2 * width + j] && before[4, j] == x[4, 2 * width + j]) }
    }

    @Test func causalAttentionRejectsBadSettingsAndShapes() throws {
        #expect(throws: NGError.self) { try CausalAttention<Float>(sequenceLength: 4, heads: 3, width: 8) }
        #expect(throws: NGError.self) { try CausalAttention<Float>(sequenceLength: 0, heads: 1, width: 8) }
        let attention = try CausalAttention<Double>(sequenceLength: 4, heads: 2, width: 8)
        #expect(throws: NGError.self) { try attention.forward(Matrix(rows: 8, columns: 8)) }    // not 3·width
        #expect(throws: NGError.self) { try attention.forward(Matrix(rows: 6, columns: 24)) }   // not whole sequences
        _ = try attention.forward(Matrix(rows: 8, columns: 24))
        #expect(throws: NGError.self) { try attention.backward(Matrix(rows: 8, columns: 24)) }
    }
}

/// The residual block, the learned positions and a whole small language model.
@Suite struct TransformerModelTests {
    @Test func residualAndPositionGradientsMatchFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 305)
        let block = try Residual<Double>([try Dense<Double>(inputs: 4, outputs: 4, using: &generator), GELU<Double>()])
        let x = Matrix<Double>.random(rows: 6, columns: 4, using: &generator)
        let g = Matrix<Double>.random(rows: 6, columns: 4, using: &generator)
        _ = try block.forward(x)
        let dx = try block.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try block.forward($0) }, analytic: dx) < 1e-7)

        let positions = try PositionEmbedding<Double>(sequenceLength: 3, width: 4)
        positions.weight = Matrix.random(rows: 3, columns: 4, using: &generator)
        _ = try positions.forward(x)
        let pdx = try positions.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try positions.forward($0) }, analytic: pdx) < 1e-7)
        #expect(try parameterFiniteDifferenceError(positions, input: x, upstream: g) < 1e-7)
        #expect(throws: NGError.self) { try positions.forward(Matrix(rows: 5, columns: 4)) }   // not whole sequences
    }

    /// The token embedding's rows, including ids looked up twice (their gradients summed) and
    /// a vocabulary row never looked up (no gradient), against finite differences; ids that are
    /// not whole numbers in the vocabulary are refused.
    @Test func tokenEmbeddingGradientMatchesFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 306)
        let embedding = try TokenEmbedding<Double>(vocabulary: 5, width: 3, using: &generator)
        let x = try Matrix<Double>(rows: 6, columns: 1, elements: [2, 0, 2, 4, 1, 2])
        let g = Matrix<Double>.random(rows: 6, columns: 3, using: &generator)
        let y = try embedding.forward(x)
        #expect(y.shape == Shape(6, 3))
        for j in 0..<3 { #expect(y[3, j] == embedding.weight[4, j] && y[0, j] == embedding.weight[2, j]) }
        #expect(try embedding.backward(g).isEmpty)
        #expect(try parameterFiniteDifferenceError(embedding, input: x, upstream: g) < 1e-7)
        for bad in [Double.nan, 2.5, -1, 5] {
            let ids = try Matrix<Double>(rows: 2, columns: 1, elements: [0, bad])
            #expect(throws: NGError.self) { try embedding.forward(ids) }
        }
        #expect(throws: NGError.self) { try embedding.forward(Matrix(rows: 2, columns: 2)) }
        #expect(throws: NGError.self) { try TokenEmbedding<Double>(vocabulary: 0, width: 3, using: &generator) }
    }

    /// A 1-block model (width 16, 2 heads, 8 tokens) learns a text whose next byte follows from
    /// the bytes before it, with NG+ (its dense layers preconditioned, the positions by the
    /// matrix form, LayerNorm plain) and with Adam.
    @Test(arguments: ["ngplus", "adam"])
    func smallLanguageModelLearnsAPatternedText(optimizer name: String) throws {
        let text = Array(String(repeating: "the cat sat on the mat. ", count: 40).utf8)
        let (length, batch) = (8, 4)
        let model = try Model<Double>.transformer(sequenceLength: length, width: 16, heads: 2, blocks: 1, seed: 5)
        #expect(model.trainableLayers.count == 10)
        var generator = SeededGenerator(seed: 9)
        var x = Matrix<Double>(rows: 0, columns: 0)
        var labels: [Int] = []
        var losses: [Double] = []
        func train<O: LayerOptimizer>(_ optimizer: inout O) throws where O.Scalar == Double {
            try model.register(with: &optimizer)
            for _ in 0..<60 {
                let starts = (0..<batch).map { _ in Int.random(in: 0..<(text.count - length - 1), using: &generator) }
                try TextCorpus.tokenWindows(text, starts: starts, length: length, into: &x, labels: &labels)
                losses.append(try model.trainStep(x, labels: labels[...], optimizer: &optimizer))
            }
        }
        if name == "ngplus" {
            var optimizer = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
                sgd: SGDSettings(learningRate: 0.1, momentum: 0.9), damping: 1e-2, inverseInterval: 5,
                batchSize: batch * length, fusedApply: true))
            try train(&optimizer)
        } else {
            var optimizer = try AdamOptimizer<Double>(settings: AdamSettings(learningRate: 1e-2))
            try train(&optimizer)
        }
        // Near-uniform logits at the start (ln 256 ≈ 5.55, plus the logits' initial spread).
        #expect(losses[0] > 5, "\(losses[0])")
        // Measured: Adam 0.43 after 60 steps; NG+ on its momentum-SGD base 2.2 (the bigram
        // level; 0.3 diverges): the Adam base the authors used for SchNet is what NG+ needs
        // here, an option still to build (issue 13).
        let last = losses.suffix(5).reduce(0, +) / 5
        #expect(last < (name == "adam" ? 1 : 3), "\(name): \(losses.suffix(5))")
    }
}
