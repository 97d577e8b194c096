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

    @Test func kernelExampleRunsAndPreconditions() throws {
        var generator = SeededGenerator(seed: 3)
        let x = Matrix<Float>.random(rows: 128, columns: 784, using: &generator)
        let dy = Matrix<Float>.random(rows: 128, columns: 256, scale: 1e-2, using: &generator)
        let gradient = Matrix<Float>.random(rows: 256, columns: 785, using: &generator)
        let direction = try kernelExample(x: x, dy: dy, gradient: gradient)
        #expect(direction.firstNonFiniteIndex() == nil)
        #expect(direction != Matrix(rows: 256, columns: 785))
    }

    @Test func readmeShowsExactlyTheCompiledExample() throws {
        let here = URL(fileURLWithPath: #filePath)
        let source = try String(contentsOf: here, encoding: .utf8)
        let readme = try String(
            contentsOf: here.deletingLastPathComponent().appendingPathComponent("../../README.md").standardized,
            encoding: .utf8)
        let lines = source.components(separatedBy: "\n")
        let begin = try #require(lines.firstIndex { $0.contains("// README-BEGIN kernels") })
        let end = try #require(lines.firstIndex { $0.contains("// README-END kernels") })
        let indent = lines[begin].prefix { $0 == " " }.count
        let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(min(indent, $0.count))) }
            .joined(separator: "\n")
        #expect(readme.contains(snippet), "README.md must contain the example of ReadmeExampleTests verbatim")
    }
}
