import NGKernels
import NGTestSupport
import Testing

/// `FloatLoops.tileProduct` at every vector level against a plain-loop Double reference, on
/// shapes around its register blocks (8 rows, 32 and 16 columns; and AVX-512's 6 rows by 64
/// columns, where the rows cut better into sixes: 6, 13, 17, 30 and 289 rows) and their
/// remainders (blocks that overlap the rows or columns before them and store only their own,
/// a single row, 16 columns reaching back into the 64-column blocks; and, from 32 rows on, B's
/// stripes of 64 columns copied side by side first, with columns past the last stripe), with A
/// read by rows and as a transpose, an empty and a shifted inner range, and β = 0 (C's old
/// values, NaN here, never read), 1 and −0.5. Each element's error is bounded by its sum's
/// rounding, `(n + 3)·u·(|α|·Σ|A(r, x)·B[x, j]| + |β·C|)` with u = 2⁻²⁴; what lies outside the
/// `rows × columns` block of C is left as it was. `gatheredTileProduct` on the same cases, its
/// row tables taking A's and B's rows in reverse order, on cases that sum runs of the inner
/// range (runs shorter than their stride, the last cut at the range's end or not), and on cases
/// whose A values lie at offsets from a table (x ↦ 7x mod n, a permutation of A's columns).
@Suite struct FloatTileProductTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let rows: Int, columns: Int, inner: Range<Int>, transposed: Bool, alpha: Float, beta: Float
        var runs = InnerRuns.whole
        var innerTable = false
        var testDescription: String {
            let taken = runs == .whole ? "" : ", runs of \(runs.length) every \(runs.stride)"
            let table = innerTable ? ", A's columns from a table" : ""
            return "\(rows)×\(columns), inner \(inner)\(taken)\(table), \(transposed ? "Aᵀ" : "A"), α \(alpha), β \(beta)"
        }
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for (rows, columns) in [
            (1, 1), (1, 33), (7, 16), (8, 32), (9, 70), (16, 31), (17, 64), (3, 15), (12, 49), (6, 64), (13, 130),
            (30, 192), (289, 64), (33, 64), (40, 100),
        ] {
            for (index, inner) in [0..<0, 0..<1, 3..<20, 0..<40].enumerated() {
                let (alpha, beta): (Float, Float) = [(1, 0), (0.3, 1), (-1.5, -0.5), (1, 0)][index]
                cases.append(Case(rows: rows, columns: columns, inner: inner, transposed: (rows + index) % 2 == 0,
                                  alpha: alpha, beta: beta))
            }
        }
        return cases
    }()

    /// Runs of 1 every 3, 4 every 6 (the last cut) and 14 every 16 (a 14-wide output on rows of
    /// 16, the last run whole).
    static let runCases: [Case] = [(1, 1), (9, 70), (17, 64), (12, 49), (13, 130)].flatMap { rows, columns in
        [(3..<20, InnerRuns(length: 1, stride: 3)), (3..<20, InnerRuns(length: 4, stride: 6)),
         (0..<46, InnerRuns(length: 14, stride: 16))].map { inner, runs in
            Case(rows: rows, columns: columns, inner: inner, transposed: rows % 2 == 0, alpha: 0.7, beta: runs.length == 4 ? 1 : 0,
                 runs: runs)
        }
    }

    /// A's columns found in a table, whole and in runs.
    static let tableCases: [Case] = [(1, 1), (8, 32), (9, 70), (17, 64), (12, 49), (13, 130)].flatMap { rows, columns in
        [(3..<20, InnerRuns.whole), (0..<46, InnerRuns.whole), (0..<46, InnerRuns(length: 14, stride: 16))].map { inner, runs in
            Case(rows: rows, columns: columns, inner: inner, transposed: rows % 2 == 1, alpha: -0.6, beta: inner.count == 17 ? 0.5 : 0,
                 runs: runs, innerTable: true)
        }
    }

    /// Inner ranges over 256 values (B's stripes copied 32 columns wide) and over 512 (not
    /// copied).
    static let longInnerCases: [Case] = [
        Case(rows: 40, columns: 100, inner: 0..<300, transposed: false, alpha: 1, beta: 0),
        Case(rows: 33, columns: 64, inner: 5..<400, transposed: true, alpha: -0.5, beta: 1),
        Case(rows: 33, columns: 40, inner: 0..<600, transposed: false, alpha: 1, beta: 0),
    ]

    @Test(arguments: FloatLoopsTests.levels, cases + longInnerCases)
    func matchesADoubleReference(_ loops: FloatLoops, _ c: Case) {
        check(loops, c, gathered: false)
    }

    @Test(arguments: FloatLoopsTests.levels, cases + runCases + tableCases)
    func gatheredMatchesADoubleReference(_ loops: FloatLoops, _ c: Case) {
        check(loops, c, gathered: true)
    }

    func check(_ loops: FloatLoops, _ c: Case, gathered: Bool) {
        var generator = SeededGenerator(seed: UInt64(c.rows * 1000 + c.columns * 10 + c.inner.count))
        let innerTotal = c.inner.upperBound + 2
        // A(r, x) at a[r·rowStride + x·innerStride]: rows of innerTotal + 3 values, or their
        // transpose, columns of rows + 5.
        let (rowStride, innerStride) = c.transposed ? (1, c.rows + 5) : (innerTotal + 3, 1)
        let a = (0..<(c.rows * rowStride + innerTotal * innerStride)).map { _ in Float.random(in: -1...1, using: &generator) }
        let ldb = c.columns + 4
        let b = (0..<(innerTotal * ldb)).map { _ in Float.random(in: -1...1, using: &generator) }
        let ldc = c.columns + 3
        let sentinel: Float = 12345
        var result = (0..<((c.rows + 1) * ldc)).map { i in
            i / ldc < c.rows && i % ldc < c.columns
                ? (c.beta == 0 ? Float.nan : Float.random(in: -1...1, using: &generator)) : sentinel
        }
        let before = result
        // Row r of A and row x of B where the product finds them: in reverse order when gathered.
        let aRows = (0..<c.rows).map { (gathered ? c.rows - 1 - $0 : $0) * rowStride }
        let bRows = (0..<innerTotal).map { (gathered ? innerTotal - 1 - $0 : $0) * ldb }
        // A(r, x) at a[aRows[r] + aColumns[x]].
        let aColumns = (0..<innerTotal).map { (c.innerTable ? $0 * 7 % innerTotal : $0) * innerStride }
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { out in
                    guard gathered else {
                        return loops.tileProduct(
                            rows: c.rows, columns: c.columns, inner: c.inner, a: a.baseAddress!, rowStride: rowStride,
                            innerStride: innerStride, b: b.baseAddress!, ldb: ldb, alpha: c.alpha, beta: c.beta,
                            into: out.baseAddress!, ldc: ldc)
                    }
                    aColumns.withUnsafeBufferPointer { aColumns in
                        loops.gatheredTileProduct(
                            rows: c.rows, columns: c.columns, inner: c.inner, runs: c.runs, a: a.baseAddress!,
                            rowOffsets: aRows, innerOffsets: c.innerTable ? .table(aColumns.baseAddress!) : .stride(innerStride),
                            b: b.baseAddress!, rowOffsets: bRows, alpha: c.alpha, beta: c.beta, into: out.baseAddress!, ldc: ldc)
                    }
                }
            }
        }
        let u = 0x1p-24
        var worst = 0.0
        for r in 0...c.rows {
            for j in 0..<ldc {
                let index = r * ldc + j
                guard r < c.rows, j < c.columns else {
                    #expect(result[index] == sentinel, "\(loops.level) gathered \(gathered): C[\(r), \(j)] outside the block changed")
                    continue
                }
                var (sum, magnitude) = (0.0, 0.0)
                for x in c.inner where (x - c.inner.lowerBound) % c.runs.stride < c.runs.length {
                    let term = Double(a[aRows[r] + aColumns[x]]) * Double(b[bRows[x] + j])
                    sum += term
                    magnitude += abs(term)
                }
                let old = c.beta == 0 ? 0 : Double(before[index])
                let want = Double(c.alpha) * sum + Double(c.beta) * old
                let terms = c.inner.filter { ($0 - c.inner.lowerBound) % c.runs.stride < c.runs.length }.count
                let bound = Double(terms + 3) * u * (abs(Double(c.alpha)) * magnitude + abs(Double(c.beta) * old))
                let error = abs(Double(result[index]) - want)
                #expect(error <= bound, "\(loops.level) gathered \(gathered): C[\(r), \(j)] = \(result[index]), want \(want) ± \(bound)")
                worst = max(worst, bound > 0 ? error / bound : error)
            }
        }
        #expect(worst <= 1)
    }
}
