import NGKernels
import NGTestSupport
import Testing

/// `FloatLoops.transpose` at every vector level against the definition, on shapes around its
/// 16 × 16 blocks (one value, a block, a block and a remainder either way, several blocks) with
/// a leading dimension beyond the columns: the same values, exactly, and nothing written beyond
/// the target.
@Suite struct FloatTransposeTests {
    static let shapes = [(1, 1), (3, 5), (16, 16), (17, 16), (16, 33), (32, 196), (33, 47), (64, 49)]

    @Test(arguments: FloatLoopsTests.levels)
    func matchesTheDefinition(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 62)
        for (rows, columns) in Self.shapes {
            let ld = columns + 5
            let source = (0..<(rows * ld)).map { _ in Float.random(in: -1...1, using: &generator) }
            var target = [Float](repeating: .nan, count: rows * columns + 3)
            source.withUnsafeBufferPointer { s in
                target.withUnsafeMutableBufferPointer { t in
                    loops.transpose(s.baseAddress!, rows: rows, columns: columns, leadingDimension: ld, into: t.baseAddress!)
                }
            }
            var wrong = 0
            for i in 0..<rows {
                for j in 0..<columns where target[j * rows + i] != source[i * ld + j] { wrong += 1 }
            }
            #expect(wrong == 0, "\(loops.level) \(rows)×\(columns): \(wrong) values misplaced")
            let untouched = target[(rows * columns)...].allSatisfy { $0.isNaN }
            #expect(untouched, "\(loops.level) \(rows)×\(columns): wrote beyond")
        }
    }
}
