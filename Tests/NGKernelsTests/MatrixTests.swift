import NGKernels
import NGTestSupport
import Testing

@Suite struct MatrixTests {
    @Test func elementsAreRowMajorAndSubscriptsAgree() throws {
        let m = try Matrix<Float>(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6])
        #expect(m[0, 2] == 3)
        #expect(m[1, 0] == 4)
        #expect(m.shape == Shape(2, 3))
        #expect(m.transposed().elements == [1, 4, 2, 5, 3, 6])
        #expect(Matrix<Double>.identity(2).elements == [1, 0, 0, 1])
    }

    @Test func initializerRejectsAWrongElementCount() {
        #expect(throws: NGError.invalidArgument(
            operation: "Matrix.init", argument: "elements",
            reason: "has 5 values, a 2×3 matrix needs 6")) {
            try Matrix<Float>(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5])
        }
        #expect(throws: NGError.self) { try Matrix<Float>(rows: -1, columns: 3, elements: []) }
    }

    /// The zero fill (one memset) and any other value, empty shapes included; −0 keeps its sign.
    @Test(arguments: [(0, 0), (0, 4), (3, 0), (1, 1), (7, 13)])
    func repeatedValuesFillEveryElement(rows: Int, columns: Int) {
        let zeros = Matrix<Float>(rows: rows, columns: columns)
        #expect(zeros.elements.count == rows * columns && zeros.elements.allSatisfy { $0.bitPattern == 0 })
        let threes = Matrix<Double>(rows: rows, columns: columns, repeating: 3)
        #expect(threes.elements == [Double](repeating: 3, count: rows * columns))
        let negativeZeros = Matrix<Double>(rows: rows, columns: columns, repeating: -0.0)
        #expect(negativeZeros.elements.allSatisfy { $0 == 0 && $0.sign == .minus })
    }

    @Test func copiesAreIndependentValues() {
        var a = Matrix<Double>(rows: 2, columns: 2, repeating: 1)
        let b = a
        a[0, 0] = 5
        #expect(b[0, 0] == 1)
        #expect(a[0, 0] == 5)
    }

    @Test func finiteCheckLocatesTheFirstBadValue() throws {
        var m = Matrix<Float>(rows: 3, columns: 4)
        #expect(m.firstNonFiniteIndex() == nil)
        m[2, 1] = .infinity
        m[2, 3] = .nan
        #expect(m.firstNonFiniteIndex() == 9)
        #expect(throws: NGError.nonFinite(operation: "op", argument: "M", row: 2, column: 1)) {
            try m.requireFinite("op", "M")
        }
        // Large finite values must not be mistaken for infinities.
        let big = Matrix<Float>(rows: 2, columns: 2, repeating: .greatestFiniteMagnitude)
        #expect(big.firstNonFiniteIndex() == nil)
    }

    @Test(arguments: [0, 5, 16, 40, 61, 62])
    func vectorizedScansFindValuesInLanesAndTail(position: Int) {
        // 63 elements: three 16-wide SIMD chunks and a tail of 15.
        var m = Matrix<Double>(rows: 7, columns: 9) { i, j in Double(i * 9 + j) / 100 }
        #expect(m.firstNonFiniteIndex() == nil)
        m[position / 9, position % 9] = -1000
        #expect(m.maxAbsolute() == 1000)
        m[position / 9, position % 9] = -.infinity
        #expect(m.firstNonFiniteIndex() == position)
        m[position / 9, position % 9] = .nan
        #expect(m.firstNonFiniteIndex() == position)
    }

    @Test func errorDescriptionsNameTheOperationAndShapes() {
        let error = NGError.shapeMismatch(
            operation: "BLAS.gemm", argument: "C", expected: Shape(2, 3), actual: Shape(3, 2))
        #expect(error.description == "BLAS.gemm: C has shape 3×2, expected 2×3")
    }

    @Test func blockDiagonalMatrixSplitsTheRemainderIntoTheLastBlock() throws {
        let b = try BlockDiagonalMatrix<Float>(dimension: 10, blockSize: 4)
        #expect(b.blockCount == 3)
        #expect(b.diagonalBlocks.map(\.rows) == [4, 4, 2])
        #expect(b.blockRange(2) == 8..<10)
        let full = try BlockDiagonalMatrix<Float>(dimension: 10, blockSize: 1024)
        #expect(full.blockCount == 1)
        #expect(full.blockSize == 10)
        #expect(throws: NGError.self) { try BlockDiagonalMatrix<Float>(dimension: 0) }
        #expect(throws: NGError.self) { try BlockDiagonalMatrix<Float>(dimension: 3, blockSize: 0) }
    }

    @Test func blockDiagonalRoundTripKeepsOnlyTheDiagonalBlocks() throws {
        var generator = SeededGenerator(seed: 7)
        let dense = Matrix<Double>.random(rows: 7, columns: 7, using: &generator)
        let blocks = try BlockDiagonalMatrix(diagonalBlocksOf: dense, blockSize: 3)
        let back = blocks.dense()
        for i in 0..<7 {
            for j in 0..<7 {
                #expect(back[i, j] == (i / 3 == j / 3 ? dense[i, j] : 0))
            }
        }
    }
}
