import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// `Dense`'s input gradient `dY·W`, tile products over the batch's rows split over the cores:
/// Float against a plain-loop Double reference, each value within its sum's rounding bound
/// `(m + 3)·u·Σ|dY[b, o]·W[o, i]|` (u = 2⁻²⁴), on shapes with a row tail and a column tail
/// (150 rows in two chunks of 75 — a thread takes at least 2²⁰ multiply-adds, 67 rows of
/// 130 × 120 — and 130 inputs), a single row and a single input, and 15 and 16 inputs (below
/// 16 one GEMM call, `DenseGradient.narrowInputs`); W's columns split instead where W is the
/// larger operand (900 inputs in 15 units of 64, the second thread's from column 448, the last
/// unit 4 wide; 2,000 inputs at 30 rows); and the same bits on one thread and on two.
@Suite struct DenseInputGradientTests {
    @Test(arguments: [
        (150, 130, 120), (1, 1, 1), (1, 40, 3), (9, 1, 17), (40, 15, 9), (40, 16, 9), (40, 900, 64), (30, 2000, 40),
    ])
    func matchesADoubleReferenceOnAnyThreadCount(batch: Int, inputs: Int, outputs: Int) throws {
        var generator = SeededGenerator(seed: UInt64(batch * 100 + inputs))
        let x = Matrix<Float>.random(rows: batch, columns: inputs, using: &generator)
        let dy = Matrix<Float>.random(rows: batch, columns: outputs, using: &generator)
        var results: [Matrix<Float>] = []
        var weight = Matrix<Float>(rows: 0, columns: 0)
        for threads in [1, 2] {
            ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
            var seeded = SeededGenerator(seed: 7)
            let dense = try Dense<Float>(inputs: inputs, outputs: outputs, using: &seeded)
            weight = dense.weight
            _ = try dense.forward(x)
            results.append(try dense.backward(dy))
        }
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        #expect(results[0] == results[1])
        for b in 0..<batch {
            for i in 0..<inputs {
                let want = floatSumReference(count: outputs) { Double(dy[b, $0]) * Double(weight[$0, i]) }
                #expect(abs(Double(results[0][b, i]) - want.value) <= want.bound, "dX[\(b), \(i)]")
            }
        }
    }
}
