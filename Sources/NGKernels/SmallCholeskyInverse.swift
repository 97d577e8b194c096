/// POTRI for small orders without OpenBLAS: Debian's OpenBLAS 0.3.21 runs the triangular
/// inverse and the `Lᵀ·L` product inside POTRI on its thread pool whatever the order
/// (`strtri_UN_parallel`, `slauum_U_parallel` in a profile of a 10 × 10 refresh), and waking
/// the pool cost more than the factorization: a 10 × 10 refresh took 15.7 µs with 2 threads,
/// 11.7 µs with one. These loops do the same two steps on the calling thread.
extension ElementwiseKernels {
    /// The largest order `smallCholeskyInverse` takes (about 2·n³/3 flops: 2,700 at 16).
    public static let smallCholeskyInverseOrder = 16

    /// From the lower Cholesky factor L (A = L·Lᵀ) in the lower triangle of the row-major
    /// n × n `a`, the lower triangle of A⁻¹ in place, as POTRI leaves it (the strict upper
    /// triangle is not touched). Returns 0, or i + 1 when L's diagonal entry i is the first
    /// that is 0 (POTRI's `info`), with `a` untouched.
    @inlinable
    public static func smallCholeskyInverse<Scalar: BLASScalar>(n: Int, a: UnsafeMutablePointer<Scalar>, lda: Int) -> Int {
        for i in 0..<n where a[i * lda + i] == 0 { return i + 1 }
        // X = L⁻¹ row by row: X[i][j] = −(Σ_{k=j}^{i−1} L[i][k]·X[k][j]) / L[i][i]. Ascending j
        // reads L[i][k] (k ≥ j) before it is overwritten; rows above i already hold X.
        for i in 0..<n {
            let row = a + i * lda
            let diagonal = row[i]
            for j in 0..<i {
                var sum: Scalar = 0
                for k in j..<i { sum += row[k] * a[k * lda + j] }
                row[j] = -sum / diagonal
            }
            row[i] = 1 / diagonal
        }
        // A⁻¹ = Xᵀ·X, lower triangle: (A⁻¹)[i][j] = Σ_{k=i}^{n−1} X[k][i]·X[k][j], j ≤ i. Row i
        // reads rows k ≥ i only, so ascending rows overwrite nothing still needed (row i's own
        // entries are read before they are written, the diagonal last).
        for i in 0..<n {
            for j in 0...i {
                var sum: Scalar = 0
                for k in i..<n { sum += a[k * lda + i] * a[k * lda + j] }
                a[i * lda + j] = sum
            }
        }
        return 0
    }
}
