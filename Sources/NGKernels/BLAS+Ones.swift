/// Sums over the rows of a matrix, and a row added to every row, as GEMMs against a column of
/// ones held on the stack (1 KB: 256 rows a call in Float, 128 in Double) — a few BLAS calls
/// where one AXPY a row makes as many calls as rows.
extension BLAS {
    /// `sums ← 1ᵀ·A` (+ `sums` when `accumulate`): the column sums of `a` (m × n) into `sums`,
    /// an n × 1 view (a column of a matrix, or a row read with leading dimension 1).
    @inlinable
    package static func columnSums<Scalar: BLASScalar>(
        of a: MatrixView<Scalar>, into sums: MutableMatrixView<Scalar>, accumulate: Bool = false
    ) {
        withOnes(Scalar.self) { ones in
            for first in stride(from: 0, to: a.rows, by: ones.rows) {
                let rows = first..<Swift.min(first + ones.rows, a.rows)
                BLAS.gemm(
                    a.rows(rows), transposeA: true, ones.rows(0..<rows.count), beta: accumulate || first > 0 ? 1 : 0,
                    into: sums)
            }
        }
    }

    /// `A ← A + 1·v`: the row `v` (1 × n) added to every row of `a` (m × n); with `transposed`,
    /// `v` is given as a column (n × 1, a column of a matrix).
    @inlinable
    package static func addToEveryRow<Scalar: BLASScalar>(
        _ v: MatrixView<Scalar>, transposed: Bool = false, of a: MutableMatrixView<Scalar>
    ) {
        withOnes(Scalar.self) { ones in
            for first in stride(from: 0, to: a.rows, by: ones.rows) {
                let rows = first..<Swift.min(first + ones.rows, a.rows)
                BLAS.gemm(ones.rows(0..<rows.count), v, transposeB: transposed, beta: 1, into: a.rows(rows))
            }
        }
    }

    /// A column of ones on the stack, as many as fit in 1 KB.
    @inlinable
    package static func withOnes<Scalar: BLASScalar>(_: Scalar.Type, _ body: (MatrixView<Scalar>) -> Void) {
        let count = 1024 / MemoryLayout<Scalar>.stride
        withUnsafeTemporaryAllocation(of: Scalar.self, capacity: count) { ones in
            ones.initialize(repeating: 1)
            body(MatrixView(UnsafeBufferPointer(ones), rows: count, columns: 1))
        }
    }
}
