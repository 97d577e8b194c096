import NGKernels
import NGTestSupport
import Testing

/// `DenseGradient.weightGradient` against `dYᵀ·[X | 1]` in Double with plain loops, over batches
/// that fill several blocks of the bias column's sums (128 rows a block in Double, 256 in
/// Float), a batch of one and a single output; bad shapes refused with the target untouched.
@Suite struct DenseGradientTests {
    @Test(arguments: [(1, 3, 2), (129, 4, 1), (300, 5, 7), (513, 2, 3)])
    func weightGradientMatchesPlainLoops(batch: Int, inputs: Int, outputs: Int) throws {
        var generator = SeededGenerator(seed: UInt64(batch * 31 + inputs))
        let x = Matrix<Double>.random(rows: batch, columns: inputs, using: &generator)
        let dy = Matrix<Double>.random(rows: batch, columns: outputs, using: &generator)
        for bias in [true, false] {
            var g = Matrix<Double>(rows: outputs, columns: inputs + (bias ? 1 : 0), repeating: .nan)
            try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: bias, into: &g)
            for i in 0..<outputs {
                for j in 0..<g.columns {
                    var sum = 0.0
                    var magnitude = 0.0
                    for b in 0..<batch {
                        let term = dy[b, i] * (j < inputs ? x[b, j] : 1)
                        sum += term
                        magnitude += abs(term)
                    }
                    // A sum of `batch` products in another order: within batch·ε of Σ|terms|.
                    #expect(abs(g[i, j] - sum) <= Double(batch) * Double.ulpOfOne * magnitude + 1e-300)
                }
            }
        }
        // Float: the same blocks at 256 rows.
        let xf = Matrix<Float>(rows: batch, columns: inputs) { r, c in Float(x[r, c]) }
        let dyf = Matrix<Float>(rows: batch, columns: outputs) { r, c in Float(dy[r, c]) }
        var gf = Matrix<Float>(rows: outputs, columns: inputs + 1)
        try DenseGradient.weightGradient(inputs: xf, outputGradients: dyf, bias: true, into: &gf)
        for i in 0..<outputs {
            let sum = (0..<batch).reduce(0.0) { $0 + Double(dyf[$1, i]) }
            let magnitude = (0..<batch).reduce(0.0) { $0 + abs(Double(dyf[$1, i])) }
            #expect(abs(Double(gf[i, inputs]) - sum) <= Double(batch) * Double(Float.ulpOfOne) * magnitude)
        }
    }

    /// Float's weight part, made of tile products in blocks of 256 inputs and of as many batch
    /// rows as keep a block at 2¹⁵ values (the first case: 256 inputs in blocks of 128 rows,
    /// then 14 in blocks of 256; the last of each short) with G's rows split over the cores (40
    /// rows: two threads of at least 16; 15 inputs, below `narrowInputs`, one GEMM call; 16 to
    /// 31 inputs, X's columns 16 at a time): each value within its sum's rounding bound
    /// `(B + 3)·u·Σ|terms|` (u = 2⁻²⁴) of a Double reference, and the same bits on one thread
    /// and on two.
    @Test(arguments: [
        (300, 270, 40), (1, 1, 1), (257, 17, 33), (300, 15, 33), (300, 16, 33), (600, 25, 64), (40, 31, 32),
        (300, 32, 64), (300, 25, 31),
    ])
    func floatWeightGradientAcrossBlocksMatchesADoubleReference(batch: Int, inputs: Int, outputs: Int) throws {
        var generator = SeededGenerator(seed: UInt64(batch * 7 + outputs))
        let x = Matrix<Float>.random(rows: batch, columns: inputs, using: &generator)
        let dy = Matrix<Float>.random(rows: batch, columns: outputs, using: &generator)
        var results: [Matrix<Float>] = []
        for threads in [1, 2] {
            ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
            var g = Matrix<Float>(rows: outputs, columns: inputs, repeating: .nan)
            try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: false, into: &g)
            results.append(g)
        }
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        #expect(results[0] == results[1])
        for i in 0..<outputs {
            for j in 0..<inputs {
                let want = floatSumReference(count: batch) { Double(dy[$0, i]) * Double(x[$0, j]) }
                #expect(abs(Double(results[0][i, j]) - want.value) <= want.bound, "G[\(i), \(j)]")
            }
        }
    }

    /// Where X is the larger operand (more inputs than outputs) the cores split G's columns in
    /// units of 64, a thread's from the middle of a block of 256 (600 inputs: 10 units, the
    /// second thread's from column 320; 800 inputs: 13 units, from 384): the same bits, bias
    /// column included, on one thread and on two, each value within its sum's rounding bound
    /// of a Double reference.
    @Test(arguments: [(300, 600, 16), (257, 800, 12)])
    func splitColumnsGiveTheSameBits(batch: Int, inputs: Int, outputs: Int) throws {
        var generator = SeededGenerator(seed: UInt64(batch + inputs))
        let x = Matrix<Float>.random(rows: batch, columns: inputs, using: &generator)
        let dy = Matrix<Float>.random(rows: batch, columns: outputs, using: &generator)
        var results: [Matrix<Float>] = []
        for threads in [1, 2] {
            ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
            var g = Matrix<Float>(rows: outputs, columns: inputs + 1, repeating: .nan)
            try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &g)
            results.append(g)
        }
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        #expect(results[0] == results[1])
        for i in 0..<outputs {
            for j in 0...inputs {
                let want = floatSumReference(count: batch) { Double(dy[$0, i]) * (j < inputs ? Double(x[$0, j]) : 1) }
                #expect(abs(Double(results[1][i, j]) - want.value) <= want.bound, "G[\(i), \(j)]")
            }
        }
    }

    @Test func badShapesAreRefusedWithTheTargetUntouched() {
        let x = Matrix<Double>(rows: 4, columns: 3, repeating: 1)
        let dy = Matrix<Double>(rows: 4, columns: 2, repeating: 1)
        var g = Matrix<Double>(rows: 2, columns: 3, repeating: 7)   // 3 columns: a bias needs 4
        #expect(throws: NGError.self) { try DenseGradient.weightGradient(inputs: x, outputGradients: dy, bias: true, into: &g) }
        #expect(g.elements.allSatisfy { $0 == 7 })
        #expect(throws: NGError.self) {
            try DenseGradient.weightGradient(inputs: x, outputGradients: Matrix(rows: 5, columns: 2), bias: false, into: &g)
        }
    }
}
