import NGPlus

/// `C = A·Bᵀ` when C is small and the rows long — a weight gradient summed over every position
/// of a batch, such as a first convolution's (32 × 10 values from rows of 100,352). OpenBLAS
/// splits a GEMM over its threads by rows and columns of C, which leaves a core idle here (and
/// took longer on two threads than on one); these products split the rows' length instead.
extension NetworkKernels {
    /// Values of the rows a group takes: the groups are fixed by the length alone, each summed
    /// on one thread and then all in order, so that C does not depend on the thread count.
    package static var rowProductGroupLength: Int { 1 << 14 }

    /// The most values of C the split is for; a larger C is one GEMM.
    package static var rowProductResultLimit: Int { 1 << 12 }

    /// Whether `longRowProducts` splits an m × n product (else it is one GEMM).
    package static func splitsRowProducts(m: Int, n: Int, length: Int) -> Bool {
        m * n <= rowProductResultLimit && length > rowProductGroupLength
    }

    /// The partial sums' workspace `longRowProducts` needs: a row of m·n values a group.
    package static func rowProductPartialShape(m: Int, n: Int, length: Int) -> Shape {
        Shape((length + rowProductGroupLength - 1) / rowProductGroupLength, m * n)
    }

    /// `C = A·Bᵀ` for A (m × length) and B (n × length): split over groups of the length shared
    /// by the cores (`partials` of `rowProductPartialShape`) where `splitsRowProducts`, else
    /// one GEMM.
    package static func longRowProducts<Scalar: NetworkScalar>(
        _ a: MatrixView<Scalar>, _ b: MatrixView<Scalar>, partials: MutableMatrixView<Scalar>,
        into c: MutableMatrixView<Scalar>
    ) {
        let (m, n, length) = (a.rows, b.rows, a.columns)
        guard splitsRowProducts(m: m, n: n, length: length) else {
            BLAS.gemm(a, b, transposeB: true, into: c)
            return
        }
        let groups = partials.rows
        precondition(
            Shape(groups, partials.columns) == rowProductPartialShape(m: m, n: n, length: length),
            "row products' partial sums of another shape")
        ParallelLoop.forEachChunk(groups, minimumChunk: 1) { chunk in
            for group in chunk {
                let values = group * rowProductGroupLength..<Swift.min(length, (group + 1) * rowProductGroupLength)
                Scalar.rowProducts(
                    m: m, n: n, length: values.count, a: a.columns(values).base, lda: a.leadingDimension,
                    b: b.columns(values).base, ldb: b.leadingDimension, into: partials.rows(group..<group + 1).base,
                    ldc: n)
            }
        }
        c.zero()
        for group in 0..<groups {
            let sums = partials.readOnly.rows(group..<group + 1).reshaped(rows: m, columns: n)
            for i in 0..<m {
                BLAS.axpy(1, sums.rows(i..<i + 1), into: c.rows(i..<i + 1))
            }
        }
    }
}
