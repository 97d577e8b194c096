extension BLAS {
    /// `syrk` (the lower triangle of `C ← α·A·Aᵀ + β·C`, or of `α·Aᵀ·A + β·C` with
    /// `transpose`) with C's rows cut into bands of equal work, which the cores take one at a
    /// time, each on one OpenBLAS thread (`ConcurrentCalls`): a band's own triangle by SYRK and
    /// the block left of it by GEMM. OpenBLAS's SYRK leaves its second thread idle at many
    /// shapes (order 128 over 3,137 columns: 0.69 ms on one thread and on two; order 289 over
    /// 1,764 columns: 1.71 and 1.33 ms), where two halves on one thread each took 0.43 and 0.89
    /// ms (Zen 4, docs/measurements/shampoo-roots-2026-12-06.md). The bands are two, or as many
    /// as C has 128 rows, but no more than 8 nor than the work has 2²⁰ multiply-adds (one SYRK
    /// below two): a function of the shape alone, so the same bits on any number of threads.
    /// Thinner bands (8 for order 256) made Muon's step slower
    /// (docs/measurements/worker-threads-2026-12-07.md). Compiled here for each scalar (its
    /// bands run on threads).
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package static func syrkInBands<Scalar: BLASScalar>(
        _ a: MatrixView<Scalar>, transpose: Bool = false, alpha: Scalar = 1, beta: Scalar = 0,
        into c: MutableMatrixView<Scalar>
    ) {
        let (n, k) = transpose ? (a.columns, a.rows) : (a.rows, a.columns)
        precondition(c.rows == c.columns && c.rows == n, "SYRK views of incompatible shapes")
        let work = Double(n) * Double(n + 1) / 2 * Double(k)
        // Two-argument `min`s: the variadic one builds an array (a debug build allocates it).
        let bands = Swift.min(Swift.min(8, Swift.max(2, n / 128)), Int(Swift.min(Double(n), work / Double(1 << 20))))
        guard bands > 1 else {
            syrk(a, transpose: transpose, alpha: alpha, beta: beta, into: c)
            return
        }
        ConcurrentCalls.forEach(bands, work: work) { t in
            let (first, end) = (bandBoundary(t, of: bands, order: n), bandBoundary(t + 1, of: bands, order: n))
            guard first < end else { return }
            let rows = first..<end
            let band = transpose ? a.columns(rows) : a.rows(rows)
            syrk(band, transpose: transpose, alpha: alpha, beta: beta, into: c.rows(rows).columns(rows))
            guard first > 0 else { return }
            // C[rows, ..<first] = α·(band)·(rows above)ᵀ + β·C[rows, ..<first]
            let above = transpose ? a.columns(0..<first) : a.rows(0..<first)
            gemm(
                band, transposeA: transpose, above, transposeB: !transpose, alpha: alpha, beta: beta,
                into: c.rows(rows).columns(0..<first))
        }
    }

    /// The first row of band t of `bands` over a lower triangle of order n (n for t = bands):
    /// the triangle above row r holds r²/2 entries, so bands of equal work end at n·√(t/T).
    @usableFromInline
    static func bandBoundary(_ t: Int, of bands: Int, order n: Int) -> Int {
        t == bands ? n : Int((Double(n) * (Double(t) / Double(bands)).squareRoot()).rounded())
    }
}
