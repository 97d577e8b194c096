import NGKernels
import NGTestSupport
import Testing

/// The loops that replace OpenBLAS for tiny operands: the small product behind `BLAS.gemm` and
/// the small-order POTRI, against plain-loop Double references.
@Suite struct SmallKernelTests {
    /// (m, n, k): one row, odd rows, rows not a multiple of 16 long (the scalar tail), k = 1
    /// and k = 16, and the output layer's 10 × 257 over 10.
    static let productShapes = [(1, 64, 1), (1, 1, 1), (3, 64, 16), (7, 100, 5), (10, 257, 10), (2, 79, 3), (5, 16, 2)]

    @Test(arguments: scalarTypes)
    func smallProductMatchesThePlainLoopReference(type: any BLASScalar.Type) throws {
        try productCase(type)
    }

    func productCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 41)
        for (m, n, k) in Self.productShapes {
            let a = Matrix<S>.random(rows: m, columns: k, using: &generator)
            let b = Matrix<S>.random(rows: k, columns: n, using: &generator)
            // C is never read (β = 0): NaN there must not reach the result.
            var c = Matrix<S>(rows: m, columns: n, repeating: .nan)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        S.smallProduct(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                                       c: c.baseAddress!, ldc: n)
                    }
                }
            }
            let (ra, rb) = (Reference(a), Reference(b))
            let error = relativeError(Reference(c), ra * rb, scale: ra.absolute * rb.absolute)
            #expect(error <= productTolerance(S.self, inner: k), "small product \(m)×\(n)×\(k): \(error)")
        }
    }

    @Test func smallProductHandCheckedAndReachedThroughGEMM() throws {
        // [1 2; 3 4]·[B], B 2 × 64 with B[0][j] = j, B[1][j] = 1: row 0 is j + 2, row 1 is 3j + 4.
        let a = try Matrix<Double>(rows: 2, columns: 2, elements: [1, 2, 3, 4])
        let b = Matrix<Double>(rows: 2, columns: 64) { i, j in i == 0 ? Double(j) : 1 }
        #expect(ElementwiseKernels.prefersSmallProduct(m: 2, n: 64, k: 2))
        var c = Matrix<Double>(rows: 2, columns: 64, repeating: .nan)
        try BLAS.gemm(a, b, into: &c)
        for j in 0..<64 {
            #expect(c[0, j] == Double(j) + 2)
            #expect(c[1, j] == 3 * Double(j) + 4)
        }
        // Shapes it leaves to OpenBLAS: a long inner dimension, short rows, many flops.
        #expect(!ElementwiseKernels.prefersSmallProduct(m: 10, n: 257, k: 32))
        #expect(!ElementwiseKernels.prefersSmallProduct(m: 32, n: 10, k: 10))
        #expect(!ElementwiseKernels.prefersSmallProduct(m: 1024, n: 1024, k: 8))
    }

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
        // A zero on L's diagonal (entry 1) is POTRI's info 2.
        var singular: [Float] = [1, 0, 5, 0]
        #expect(Float.smallCholeskyInverse(n: 2, a: &singular, lda: 2) == 2)
    }
}
