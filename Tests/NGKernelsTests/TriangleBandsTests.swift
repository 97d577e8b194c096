import NGKernels
import NGTestSupport
import Testing

@Suite struct TriangleBandsTests {
    /// `syrkInBands` writes `α·A·Aᵀ + β·C` (or `α·Aᵀ·A + β·C`) into C's lower triangle and
    /// leaves the strict upper one as it was, as one SYRK does: on shapes too small to split,
    /// and on shapes of two and five bands (two, or 128 rows a band; 2²⁰ multiply-adds at the
    /// least), C a view inside a larger matrix whose other columns must not change; and the
    /// same bits on one thread.
    @Test(arguments: scalarTypes)
    func bandsMatchThePlainLoopGram(type: any BLASScalar.Type) {
        func check<S: BLASScalar>(_: S.Type) {
            var generator = SeededGenerator(seed: 29)
            for (order, inner, threads) in [
                (1, 1, 2), (3, 5, 2), (150, 200, 2), (97, 700, 2), (2, 1 << 20, 2), (256, 785, 3), (300, 400, 2),
                (640, 64, 3),
            ] {
                for transpose in [false, true] {
                    let a = Matrix<S>.random(
                        rows: transpose ? inner : order, columns: transpose ? order : inner, using: &generator)
                    let before = Matrix<S>.random(rows: order, columns: order + 2, using: &generator)
                    func banded(threads: Int) -> Matrix<S> {
                        ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
                        var wide = before
                        a.withView { a in
                            wide.withMutableView { w in
                                BLAS.syrkInBands(a, transpose: transpose, alpha: 2, beta: 0.5, into: w.columns(1..<order + 1))
                            }
                        }
                        return wide
                    }
                    let wide = banded(threads: threads)
                    let ra = Reference(a)
                    let (gram, absolute) = transpose
                        ? (ra.transposed * ra, ra.absolute.transposed * ra.absolute)
                        : (ra * ra.transposed, ra.absolute * ra.absolute.transposed)
                    var worst = 0.0
                    var untouched = true
                    for i in 0..<order {
                        untouched = untouched && wide[i, 0] == before[i, 0] && wide[i, order + 1] == before[i, order + 1]
                        for j in 0..<order {
                            let (value, old) = (Double(wide[i, j + 1]), Double(before[i, j + 1]))
                            guard j <= i else {
                                untouched = untouched && value == old
                                continue
                            }
                            let expected = 2 * gram[i, j] + 0.5 * old
                            let scale = 2 * absolute[i, j] + 0.5 * abs(old)
                            worst = max(worst, abs(value - expected) / scale)
                        }
                    }
                    let label = Comment(rawValue: "\(S.self) \(order)×\(inner) transpose \(transpose) threads \(threads)")
                    #expect(worst <= productTolerance(S.self, inner: inner), label)
                    #expect(untouched, label)
                    #expect(banded(threads: 1) == wide, label)
                }
            }
            // Left at two: other tests of this process may split too, which changes no result.
            ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        }
        check(type)
    }
}
