import Foundation
import NGPlus
import Testing

@Suite struct ReadmeExampleTests {
    /// The README's kernel example, compiled and run here on random data.
    func kernelExample(x: Matrix<Float>, dy: Matrix<Float>, gradient: Matrix<Float>) throws -> Matrix<Float> {
        // README-BEGIN kernels
        // A dense layer 784 → 256 with a bias, mini-batches of 128.
        var builder = try LinearGFIMBuilder<Float>(outputs: 256, inputs: 784, bias: true, batchCapacity: 128)
        var gfim = try BlockDiagonalMatrix<Float>(dimension: builder.dimension)
        var inverse = try DampedInverse<Float>(dimension: builder.dimension)
        var direction = Matrix<Float>(rows: 256, columns: 785)

        // Every k steps: the per-sample GFIM from the layer's inputs x (128 × 784) and the
        // gradients of the mean loss w.r.t. its outputs dy (128 × 256), then F̂⁻¹.
        try builder.accumulate(inputs: x, outputGradients: dy, newWeight: 1, into: &gfim)
        let report = try inverse.refresh(from: gfim, damping: .squareRoot(1e-3))
        print("damping shift used:", report.usedShifts)

        // Every step: precondition the gradient [dW | db] (256 × 785), no allocation.
        try inverse.apply(gradient, into: &direction)
        // README-END kernels
        return direction
    }

    /// The README's training loop: softmax regression on (x, labels) batches.
    func trainingExample(batches: [(x: Matrix<Float>, labels: [Int])]) throws -> (Matrix<Float>, [Float]) {
        // README-BEGIN training
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4),
            damping: 1e-3, inverseInterval: 10, batchSize: 128, fusedApply: true))
        let layer = try optimizer.register(.dense(outputs: 10, inputs: 784, bias: true))
        var weight = Matrix<Float>(rows: 10, columns: 785)           // W̃ = [W | b]
        var logits = Matrix<Float>(rows: 128, columns: 10)
        var outputGradients = Matrix<Float>(rows: 128, columns: 10)
        var losses: [Float] = []

        for (x, labels) in batches {                                 // x: 128 × 784
            // Forward: logits = X·Wᵀ + b (W̃'s first 784 columns, then its last one).
            let w = Matrix<Float>(rows: 10, columns: 784) { i, j in weight[i, j] }
            try BLAS.gemm(x, w, transposeB: true, into: &logits)
            var loss: Float = 0
            for i in 0..<128 {                                       // softmax cross-entropy
                let row = (0..<10).map { logits[i, $0] + weight[$0, 784] }
                let top = row.max()!
                let sum = row.reduce(0) { $0 + exp($1 - top) }
                loss += (top + log(sum) - row[labels[i]]) / 128
                for o in 0..<10 {
                    outputGradients[i, o] = (exp(row[o] - top) / sum - (o == labels[i] ? 1 : 0)) / 128
                }
            }
            losses.append(loss)
            // NG+: statistics (used every k-th step), then the fused preconditioned step.
            try optimizer.observe(layer, inputs: x, outputGradients: outputGradients)
            try optimizer.step(layer, weight: &weight, inputs: x, outputGradients: outputGradients)
        }
        // README-END training
        return (weight, losses)
    }

    @Test func trainingExampleLowersTheLoss() throws {
        var generator = SeededGenerator(seed: 4)
        // Ten well-separated classes: each has its own mean image.
        let means = Matrix<Float>.random(rows: 10, columns: 784, using: &generator)
        let batches = (0..<30).map { _ -> (x: Matrix<Float>, labels: [Int]) in
            let labels = (0..<128).map { _ in Int.random(in: 0..<10, using: &generator) }
            let noise = Matrix<Float>.random(rows: 128, columns: 784, using: &generator)
            return (Matrix(rows: 128, columns: 784) { i, j in means[labels[i], j] + noise[i, j] }, labels)
        }
        let (weight, losses) = try trainingExample(batches: batches)
        #expect(weight.firstNonFiniteIndex() == nil)
        #expect(losses.last! < losses.first! / 10, "losses \(losses.first!) → \(losses.last!)")
    }

    @Test func kernelExampleRunsAndPreconditions() throws {
        var generator = SeededGenerator(seed: 3)
        let x = Matrix<Float>.random(rows: 128, columns: 784, using: &generator)
        let dy = Matrix<Float>.random(rows: 128, columns: 256, scale: 1e-2, using: &generator)
        let gradient = Matrix<Float>.random(rows: 256, columns: 785, using: &generator)
        let direction = try kernelExample(x: x, dy: dy, gradient: gradient)
        #expect(direction.firstNonFiniteIndex() == nil)
        #expect(direction != Matrix(rows: 256, columns: 785))
    }

    /// The README's embedding example: one sparse step of a 32,768 × 128 table.
    func embeddingExample(
        optimizer: inout NGPlusOptimizer<Float>, embeddings: inout Matrix<Float>, ids: [Int], dTokens: Matrix<Float>
    ) throws {
        // README-BEGIN embedding
        let table = try optimizer.register(.embedding(vocabulary: 32768, width: 128))
        // ids: the B·T token ids looked up; dTokens: (B·T) × 128, the gradients of the mean loss
        // with respect to the looked-up rows. Only those rows (and their optimizer state) change.
        try optimizer.step(table, table: &embeddings, lookups: ids, outputGradients: dTokens)
        // README-END embedding
    }

    @Test func embeddingExampleStepsOnlyTheLookedUpRows() throws {
        var generator = SeededGenerator(seed: 5)
        var optimizer = try NGPlusOptimizer<Float>()
        var embeddings = Matrix<Float>.random(rows: 32768, columns: 128, using: &generator)
        let before = embeddings
        let ids = [7, 30000, 7, 12]
        try embeddingExample(
            optimizer: &optimizer, embeddings: &embeddings, ids: ids,
            dTokens: .random(rows: 4, columns: 128, scale: 0.1, using: &generator))
        let changed = (0..<32768).filter { row in (0..<128).contains { embeddings[row, $0] != before[row, $0] } }
        #expect(changed == [7, 12, 30000])
    }

    /// The README and the DocC articles show the compiled examples verbatim.
    @Test(arguments: [
        ("kernels", "../../README.md"), ("training", "../../README.md"), ("embedding", "../../README.md"),
        ("kernels", "../../Sources/NGKernels/NGKernels.docc/NGKernels.md"),
        ("training", "../../Sources/NGPlus/NGPlus.docc/TrainingLoop.md"),
    ])
    func pagesShowExactlyTheCompiledExample(name: String, page: String) throws {
        let here = URL(fileURLWithPath: #filePath)
        let source = try String(contentsOf: here, encoding: .utf8)
        let readme = try String(
            contentsOf: here.deletingLastPathComponent().appendingPathComponent(page).standardized,
            encoding: .utf8)
        let lines = source.components(separatedBy: "\n")
        let begin = try #require(lines.firstIndex { $0.hasSuffix("// README-BEGIN \(name)") })
        let end = try #require(lines.firstIndex { $0.hasSuffix("// README-END \(name)") })
        let indent = lines[begin].prefix { $0 == " " }.count
        let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(min(indent, $0.count))) }
            .joined(separator: "\n")
        #expect(readme.contains(snippet), "\(page) must contain the \(name) example of ReadmeExampleTests verbatim")
    }
}
