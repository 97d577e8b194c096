import NGKernels
import Testing

/// The mirror that completes a symmetric matrix from its lower triangle, against the plain
/// double loop: every order up to 40 (each remainder of its 4 × 4 blocks and 16 × 16 tiles),
/// 257 and 1024, in a matrix whose rows are longer than the order.
@Suite struct TriangleMirrorTests {
    @Test(arguments: scalarTypes)
    func mirrorCopiesTheLowerTriangleAndNothingElse(type: any BLASScalar.Type) {
        mirrorCase(type)
    }

    func mirrorCase<S: BLASScalar>(_: S.Type) {
        for n in Array(1...40) + [257, 1024] {
            let ld = n + 3
            // Every element distinct, so that a value copied to the wrong place shows.
            let original = Matrix<S>(rows: n, columns: ld) { i, j in S(i * ld + j) }
            var mirrored = original
            mirrored.withUnsafeMutableBufferPointer { S.mirrorLowerTriangle($0.baseAddress!, n: n, ld: ld) }
            var wrong = 0
            for i in 0..<n {
                for j in 0..<ld {
                    // Above the diagonal: the lower triangle's (j, i); elsewhere, unchanged.
                    let expected = j > i && j < n ? original[j, i] : original[i, j]
                    if mirrored[i, j] != expected { wrong += 1 }
                }
            }
            #expect(wrong == 0, "order \(n): \(wrong) elements wrong")
        }
    }
}
