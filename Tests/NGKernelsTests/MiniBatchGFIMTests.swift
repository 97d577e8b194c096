import NGKernels
import NGTestSupport
import Testing

@Suite struct MiniBatchGFIMTests {
    @Test(arguments: scalarTypes)
    func miniBatchGFIMIsTheRunningAverageOfTheGram(type: any BLASScalar.Type) throws {
        try miniBatchCase(type)
    }

    func miniBatchCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 31)
        for (m, n, _) in shapes {
            for side in Side.allCases {
                for (blockSize, newWeight) in [(1024, 1.0), (4, 0.01), (1, 0.5)] {
                    let g = Matrix<S>.random(rows: m, columns: n, using: &generator)
                    let order = side == .left ? m : n
                    let previous: BlockDiagonalMatrix<S> = try randomGFIM(
                        order: order, rank: 2, blockSize: blockSize, using: &generator)
                    var f = previous
                    try GFIM.miniBatch(g, side: side, newWeight: S(newWeight), into: &f)
                    let rg = Reference(g)
                    let gram = side == .left ? rg * rg.transposed : rg.transposed * rg
                    let absoluteGram = side == .left ? rg.absolute * rg.absolute.transposed : rg.absolute.transposed * rg.absolute
                    let blocks = { (r: Reference) throws -> Reference in
                        Reference(try BlockDiagonalMatrix(
                            diagonalBlocksOf: Matrix<Double>(rows: order, columns: order, elements: r.values),
                            blockSize: blockSize).dense())
                    }
                    let old = Reference(previous.dense())
                    let expected = (1 - newWeight) * old + newWeight * (try blocks(gram))
                    let scale = (1 - newWeight) * old.absolute + newWeight * (try blocks(absoluteGram))
                    let error = relativeError(Reference(f.dense()), expected, scale: scale)
                    #expect(error <= productTolerance(S.self, inner: m + n + 2),
                            "\(m)×\(n) \(side) block \(blockSize) α \(newWeight): \(error)")
                }
            }
        }
    }

    @Test func referenceOptimizerFormStartsFromEpsilonIdentity() throws {
        // F₀ = ε·I, then F ← β·F + (1−β)·M·Mᵀ with β = 0.99.
        var f = try BlockDiagonalMatrix<Double>(dimension: 2)
        f.setDiagonal(1e-8)
        let m = try Matrix<Double>(rows: 2, columns: 1, elements: [1, 2])
        try GFIM.miniBatch(m, newWeight: 0.01, into: &f)
        let expected = [0.99e-8 + 0.01, 0.02, 0.02, 0.99e-8 + 0.04]
        for (x, y) in zip(f.dense().elements, expected) { #expect(abs(x - y) < 1e-17) }
    }

    @Test func runningAverageMixesTwoEstimates() throws {
        var f = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Float>(rows: 2, columns: 2, elements: [4, 0, 0, 8]))
        let fresh = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Float>(rows: 2, columns: 2, elements: [0, 4, 4, 0]))
        try GFIM.runningAverage(fresh, newWeight: 0.25, into: &f)
        #expect(f.dense().elements == [3, 1, 1, 6])
        let before = f
        let wrong = try BlockDiagonalMatrix<Float>(dimension: 2, blockSize: 1)
        #expect(throws: NGError.self) { try GFIM.runningAverage(wrong, newWeight: 0.5, into: &f) }
        let nan = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<Float>(rows: 2, columns: 2, elements: [0, .nan, 4, 0]))
        #expect(throws: NGError.nonFinite(operation: "GFIM.runningAverage", argument: "new estimate", row: 0, column: 1)) {
            try GFIM.runningAverage(nan, newWeight: 0.5, into: &f)
        }
        #expect(f == before)
    }

    @Test func miniBatchRejectsBadInputAndLeavesTheGFIMUntouched() throws {
        let original = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<Double>.identity(3))
        var f = original
        let op: NGError.Operation = "GFIM.miniBatch"
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "GFIM", expected: Shape(2, 2), actual: Shape(3, 3))) {
            try GFIM.miniBatch(Matrix<Double>(rows: 2, columns: 3), into: &f)
        }
        var g = Matrix<Double>(rows: 3, columns: 2)
        g[0, 1] = .infinity
        #expect(throws: NGError.nonFinite(operation: op, argument: "M", row: 0, column: 1)) {
            try GFIM.miniBatch(g, into: &f)
        }
        #expect(throws: NGError.self) { try GFIM.miniBatch(Matrix<Double>(rows: 3, columns: 2), newWeight: 0, into: &f) }
        #expect(throws: NGError.emptyMatrix(operation: op, argument: "M", shape: Shape(3, 0))) {
            try GFIM.miniBatch(Matrix<Double>(rows: 3, columns: 0), into: &f)
        }
        #expect(f == original)
    }
}
