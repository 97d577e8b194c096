import NGKernels
import NGTestSupport
import Testing

/// `FloatLoops.rowProducts` at every vector level against a plain-loop Double reference, on
/// shapes around its blocks (four rows of A by two of B, sixteen lanes, chunks of 2,048) and
/// their remainders. A value of C sums `length` products in lanes and chunks: within
/// `(length + 16)·u·Σ|A[i, k]·B[j, k]|`, u = 2⁻²⁴.
@Suite struct FloatRowProductsTests {
    static let shapes = [(1, 1, 1), (3, 1, 15), (4, 2, 16), (5, 3, 17), (9, 5, 2047), (4, 2, 2048), (7, 10, 2049),
                         (32, 10, 5000)]

    @Test(arguments: FloatLoopsTests.levels)
    func matchesADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 61)
        for (m, n, length) in Self.shapes {
            let (lda, ldb, ldc) = (length + 3, length + 1, n + 2)
            let a = (0..<(m * lda)).map { _ in Float.random(in: -1...1, using: &generator) }
            let b = (0..<(n * ldb)).map { _ in Float.random(in: -1...1, using: &generator) }
            var c = [Float](repeating: .nan, count: m * ldc)
            loops.rowProducts(m: m, n: n, length: length, a: a, lda: lda, b: b, ldb: ldb, into: &c, ldc: ldc)
            for i in 0..<m {
                for j in 0..<ldc {
                    guard j < n else {
                        #expect(c[i * ldc + j].isNaN, "\(loops.level): C[\(i), \(j)] outside C was written")
                        continue
                    }
                    let terms = (0..<length).map { Double(a[i * lda + $0]) * Double(b[j * ldb + $0]) }
                    let bound = Double(length + 16) * 0x1p-24 * terms.map(abs).reduce(0, +)
                    let error = abs(Double(c[i * ldc + j]) - terms.reduce(0, +))
                    #expect(error <= bound, "\(loops.level) \(m)×\(n)×\(length): C[\(i), \(j)] off by \(error) > \(bound)")
                }
            }
        }
    }
}
