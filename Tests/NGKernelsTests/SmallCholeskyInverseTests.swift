import NGKernels
import NGTestSupport
import Testing

/// The small-order POTRI that runs on the calling thread, against the plain-loop Double
/// reference inverse and hand-checked cases.
@Suite struct SmallCholeskyInverseTests {
    @Test(arguments: scalarTypes)
    func smallCholeskyInverseMatchesTheReferenceInverse(type: any BLASScalar.Type) throws {
        try inverseCase(type)
    }

    func inverseCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 42)
        for n in 1...ElementwiseKernels.smallCholeskyInverseOrder {
            // A = B·Bᵀ + 0.1·I: symmetric positive definite, condition in the tens to thousands.
            let b = Matrix<S>.random(rows: n, columns: n, using: &generator)
            let rb = Reference(b)
            let reference = rb * rb.transposed + 0.1 * Reference.identity(n)
            var a = Matrix<S>(rows: n, columns: n) { i, j in S(reference[i, j]) }
            let upper = Matrix<S>(rows: n, columns: n) { i, j in j > i ? S(-7) : 0 }
            for i in 0..<n { for j in (i + 1)..<n { a[i, j] = -7 } }   // must stay untouched
            let factored = a.withUnsafeMutableBufferPointer { S.potrf(n: n, a: $0.baseAddress!, lda: n) }
            try #require(factored == 0)
            let info = a.withUnsafeMutableBufferPointer { S.smallCholeskyInverse(n: n, a: $0.baseAddress!, lda: n) }
            #expect(info == 0)
            let expected = reference.inverse
            // Backward-stable Cholesky inversion: relative error up to about n·u·κ(A).
            let tolerance = 8 * Double(n) * unitRoundoff(S.self) * reference.conditionNumber
            var worst = 0.0
            var scale = 0.0
            for i in 0..<n {
                for j in 0...i {
                    worst = max(worst, abs(Double(a[i, j]) - expected[i, j]))
                    scale = max(scale, abs(expected[i, j]))
                }
                for j in (i + 1)..<n { #expect(a[i, j] == upper[i, j], "strict upper triangle written at \(i), \(j)") }
            }
            #expect(worst <= tolerance * scale, "order \(n): \(worst / scale) against \(tolerance)")
        }
    }

    @Test func smallCholeskyInverseHandCheckedAndSingular() {
        // A = [4 2; 2 3] = L·Lᵀ with L = [2 0; 1 √2]; A⁻¹ = [3 −2; −2 4] / 8.
        var a: [Double] = [2, 0, 1, 2.0.squareRoot()]
        #expect(Double.smallCholeskyInverse(n: 2, a: &a, lda: 2) == 0)
        #expect(abs(a[0] - 0.375) < 1e-15 && abs(a[2] + 0.25) < 1e-15 && abs(a[3] - 0.5) < 1e-15)
        // A zero on L's diagonal (entry 1) is POTRI's info 2, and nothing is written.
        var singular: [Float] = [1, 0, 5, 0]
        #expect(Float.smallCholeskyInverse(n: 2, a: &singular, lda: 2) == 2)
        #expect(singular == [1, 0, 5, 0])
    }
}
