/// `C = A·B` for small row-major operands without OpenBLAS: each row of C is the sum of B's k
/// rows scaled by A's row, summed sixteen lanes at a time in registers, so a
/// call costs its flops and a loop, not OpenBLAS's fixed cost — its beta pass over C, the
/// packing of both operands and the kernel dispatch took 3.7 µs for the 10 × 10 inverse of an
/// output layer applied to its 10 × 257 gradient (51 kflop), more than the rest of the step.
extension ElementwiseKernels {
    /// True when `smallProduct` is the faster choice for an m × n result over k: a short inner
    /// dimension, rows long enough for the vector loop (shorter ones would run its scalar
    /// tail: a 32 × 10 result over k = 10 ran slower than OpenBLAS), and few flops, below the
    /// size where OpenBLAS's packed kernels repay their set-up.
    @inlinable
    public static func prefersSmallProduct(m: Int, n: Int, k: Int) -> Bool {
        k <= 16 && n >= 64 && m * n * k <= 65_536
    }

    /// `C = A·B`, A m × k, B k × n, C m × n, row-major with the given leading dimensions; C is
    /// overwritten (never read, as GEMM with β = 0). The sum over k runs in order p = 0, 1, …
    @inlinable
    public static func smallProduct<Scalar: BLASScalar>(
        m: Int, n: Int, k: Int, a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
        c: UnsafeMutablePointer<Scalar>, ldc: Int
    ) {
        typealias Lanes = SIMD16<Scalar>
        let whole = n / 16 * 16
        let stride = MemoryLayout<Scalar>.stride
        // Two rows of C at a time share each load of B: eight independent sums in flight (the
        // build targets baseline x86-64, so sixteen lanes are four SSE registers).
        for i in Swift.stride(from: 0, to: m, by: 2) {
            let second = Swift.min(i + 1, m - 1)  // an odd last row is computed twice, stored once
            let (first, next) = (a + i * lda, a + second * lda)
            for offset in Swift.stride(from: 0, to: whole * stride, by: 16 * stride) {
                var (sum0, sum1) = (Lanes(), Lanes())
                for p in 0..<k {
                    let values = UnsafeRawPointer(b + p * ldb).loadUnaligned(fromByteOffset: offset, as: Lanes.self)
                    sum0 += Lanes(repeating: first[p]) * values
                    sum1 += Lanes(repeating: next[p]) * values
                }
                UnsafeMutableRawPointer(c + i * ldc).storeBytes(of: sum0, toByteOffset: offset, as: Lanes.self)
                UnsafeMutableRawPointer(c + second * ldc).storeBytes(of: sum1, toByteOffset: offset, as: Lanes.self)
            }
            for row in i...second {
                let coefficients = a + row * lda
                for j in whole..<n {
                    var sum: Scalar = 0
                    for p in 0..<k { sum += coefficients[p] * b[p * ldb + j] }
                    c[row * ldc + j] = sum
                }
            }
        }
    }
}
