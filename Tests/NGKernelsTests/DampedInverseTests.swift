import NGKernels
import NGTestSupport
import Testing

/// A random PSD GFIM of order n and rank ≤ r: `A·Aᵀ / r`.
func randomGFIM<S: BLASScalar>(
    order n: Int, rank r: Int, blockSize: Int, using generator: inout SeededGenerator
) throws -> BlockDiagonalMatrix<S> {
    let a = Matrix<S>.random(rows: n, columns: r, using: &generator)
    var f = Matrix<S>(rows: n, columns: n)
    try BLAS.syrk(a, alpha: 1 / S(r), into: &f)
    return try BlockDiagonalMatrix(diagonalBlocksOf: f, blockSize: blockSize)
}

/// Forward error bound of a Cholesky-based solve: c·n·u·κ(F̂), with κ the 1-norm condition
/// number of the reference (an upper bound on the 2-norm one within a factor n).
func solveTolerance<S: BLASScalar>(_: S.Type, order n: Int, condition: Double) -> Double {
    4 * Double(n) * unitRoundoff(S.self) * condition
}

@Suite struct DampedInverseTests {
    @Test func handCheckedTwoByTwoForEachDampingRule() throws {
        let f = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Double>(rows: 2, columns: 2, elements: [2, 1, 1, 2]))
        let cases: [(DampingRule, Double)] = [
            (.plain(1), 1), (.squareRoot(4), 2), (.clampedSquareRoot(0.01), 0.1),
            (.clampedSquareRoot(100), 2.squareRoot()),
            // tr(F)/n = 2: λ = 0.5 relative to it is a shift of 1.
            (.relative(0.5), 1),
        ]
        for (rule, shift) in cases {
            var inverse = try DampedInverse<Double>(dimension: 2)
            let report = try inverse.refresh(from: f, damping: rule)
            #expect(abs(report.usedShifts[0] - shift) < 1e-15, "\(rule)")
            #expect(report.retries == [0])
            // (F + sI)⁻¹ = [[2+s, −1], [−1, 2+s]] / ((2+s)² − 1)
            let d = (2 + shift) * (2 + shift) - 1
            let expected = [(2 + shift) / d, -1 / d, -1 / d, (2 + shift) / d]
            for (x, y) in zip(inverse.denseMatrix().elements, expected) {
                #expect(abs(x - y) <= 4e-16 * abs(y), "\(rule): \(x) vs \(y)")
            }
        }
        // The clamp's floor: max|F| below 1e-3 is raised to 1e-3.
        let tiny = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Double>(rows: 2, columns: 2, elements: [2e-5, 1e-5, 1e-5, 2e-5]))
        var inverse = try DampedInverse<Double>(dimension: 2)
        let report = try inverse.refresh(from: tiny, damping: .clampedSquareRoot(1))
        #expect(abs(report.usedShifts[0] - 1e-3.squareRoot()) < 1e-15)
        // Relative to F = 0 (no statistics yet): the shift is λ itself.
        var zeroInverse = try DampedInverse<Double>(dimension: 2)
        let zero = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<Double>(rows: 2, columns: 2))
        #expect(try zeroInverse.refresh(from: zero, damping: .relative(0.3)).usedShifts == [0.3])
        // Per block: blocks of order 1 of diag(2, 6) take shifts 0.1·2 and 0.1·6.
        let diagonal = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Double>(rows: 2, columns: 2, elements: [2, 0, 0, 6]), blockSize: 1)
        var blocks = try DampedInverse<Double>(dimension: 2, blockSize: 1)
        let shifts = try blocks.refresh(from: diagonal, damping: .relative(0.1)).usedShifts
        #expect(abs(shifts[0] - 0.2) < 1e-16 && abs(shifts[1] - 0.6) < 1e-15, "\(shifts)")
    }

    @Test func choleskyFactorOfAHandCheckedMatrix() throws {
        // [[4, 2], [2, 5]] + 0·I has L = [[2, 0], [1, 2]]; shift 1e-300 changes nothing.
        let f = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Double>(rows: 2, columns: 2, elements: [4, 2, 2, 5]))
        var inverse = try DampedInverse<Double>(dimension: 2, method: .choleskySolve)
        try inverse.refresh(from: f, damping: .plain(1e-300))
        #expect(inverse.denseMatrix().elements == [2, 0, 1, 2])
    }

    @Test(arguments: scalarTypes)
    func applyEqualsTheExplicitInverseForEveryMethodSideAndBlockSize(type: any BLASScalar.Type) throws {
        try applyCase(type)
    }

    func applyCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 11)
        for (m, n, batch) in shapes {
            for side in Side.allCases {
                let order = side == .left ? m : n
                for blockSize in [1024, 3] {
                    let f: BlockDiagonalMatrix<S> = try randomGFIM(
                        order: order, rank: batch, blockSize: blockSize, using: &generator)
                    let rule = DampingRule.plain(0.05)
                    let damped = Reference(f.dense()) + 0.05 * Reference.identity(order)
                    let g = Matrix<S>.random(rows: m, columns: n, using: &generator)
                    let expected = side == .left
                        ? damped.inverse * Reference(g) : Reference(g) * damped.inverse
                    let tolerance = solveTolerance(S.self, order: order, condition: damped.conditionNumber)
                    for method in InverseMethod.allCases {
                        var inverse = try DampedInverse<S>(dimension: order, blockSize: blockSize, method: method)
                        try inverse.refresh(from: f, damping: rule)
                        var d = Matrix<S>(rows: m, columns: n)
                        try inverse.apply(g, side: side, into: &d)
                        let error = relativeError(Reference(d), expected)
                        #expect(error <= tolerance, "\(m)×\(n) \(side) block \(blockSize) \(method): \(error) > \(tolerance)")
                        // Residual: F̂·D ≈ G (left) or D·F̂ ≈ G (right).
                        let residual = side == .left ? damped * Reference(d) : Reference(d) * damped
                        let residualError = relativeError(residual, Reference(g))
                        #expect(residualError <= tolerance, "residual \(m)×\(n) \(side) \(method): \(residualError)")
                    }
                }
            }
        }
    }

    @Test(arguments: scalarTypes)
    func applyRightToInputsEqualsTheAugmentedProduct(type: any BLASScalar.Type) throws {
        try applyRightCase(type)
    }

    /// `[X | 1]·F̂⁻¹` against the reference with the ones column formed explicitly; block
    /// size 2 leaves the bias alone in the last block whenever n is even.
    func applyRightCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 12)
        for (_, n, batch) in shapes {
            for ones in [true, false] {
                let order = n + (ones ? 1 : 0)
                for blockSize in [1024, 3, 2] {
                    let f: BlockDiagonalMatrix<S> = try randomGFIM(
                        order: order, rank: batch + 1, blockSize: blockSize, using: &generator)
                    let damped = Reference(f.dense()) + 0.05 * Reference.identity(order)
                    let x = Matrix<S>.random(rows: batch, columns: n, using: &generator)
                    var augmented = Reference(rows: batch, columns: order)
                    for r in 0..<batch {
                        for c in 0..<order { augmented[r, c] = c < n ? Double(x[r, c]) : 1 }
                    }
                    let expected = augmented * damped.inverse
                    let tolerance = solveTolerance(S.self, order: order, condition: damped.conditionNumber)
                    for method in InverseMethod.allCases {
                        var inverse = try DampedInverse<S>(dimension: order, blockSize: blockSize, method: method)
                        try inverse.refresh(from: f, damping: .plain(0.05))
                        var w = Matrix<S>(rows: batch, columns: order, repeating: 7)
                        try inverse.applyRight(toInputs: x, appendingOnes: ones, into: &w)
                        let error = relativeError(Reference(w), expected)
                        #expect(error <= tolerance, "\(batch)×\(n) ones \(ones) block \(blockSize) \(method): \(error) > \(tolerance)")
                    }
                }
            }
        }
    }

    @Test func applyRightRejectsBadInputAndLeavesTheOutputUntouched() throws {
        var inverse = try DampedInverse<Double>(dimension: 3)
        let x = Matrix<Double>(rows: 4, columns: 2, repeating: 1)
        var w = Matrix<Double>(rows: 4, columns: 3, repeating: 42)
        #expect(throws: NGError.notRefreshed(operation: "DampedInverse.applyRight")) {
            try inverse.applyRight(toInputs: x, appendingOnes: true, into: &w)
        }
        try inverse.refresh(from: BlockDiagonalMatrix(dimension: 3), damping: .plain(1))
        #expect(throws: NGError.shapeMismatch(
            operation: "DampedInverse.applyRight", argument: "X", expected: Shape(4, 3), actual: Shape(4, 2))) {
            try inverse.applyRight(toInputs: x, appendingOnes: false, into: &w)
        }
        var wrongW = Matrix<Double>(rows: 3, columns: 3, repeating: 42)
        #expect(throws: NGError.shapeMismatch(
            operation: "DampedInverse.applyRight", argument: "W", expected: Shape(4, 3), actual: Shape(3, 3))) {
            try inverse.applyRight(toInputs: x, appendingOnes: true, into: &wrongW)
        }
        var nan = x
        nan[3, 0] = .infinity
        #expect(throws: NGError.nonFinite(operation: "DampedInverse.applyRight", argument: "X", row: 3, column: 0)) {
            try inverse.applyRight(toInputs: nan, appendingOnes: true, into: &w)
        }
        #expect(w == Matrix(rows: 4, columns: 3, repeating: 42))
        #expect(wrongW == Matrix(rows: 3, columns: 3, repeating: 42))
    }

    @Test func aMatrixThatWillNotFactorIsRetriedWithTenTimesTheShift() throws {
        // diag(1, −1) + s·I factors only once s > 1: 1e-3 → 1e-2 → 1e-1 → 1 (still singular) → 10.
        let f = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Double>(rows: 2, columns: 2, elements: [1, 0, 0, -1]))
        var inverse = try DampedInverse<Double>(dimension: 2)
        let report = try inverse.refresh(from: f, damping: .plain(1e-3))
        #expect(report.retries == [4])
        #expect(report.escalated)
        #expect(abs(report.usedShifts[0] - 10) < 1e-12)
        #expect(report.requestedShifts == [1e-3])
        let dense = inverse.denseMatrix()
        #expect(abs(dense[0, 0] - 1 / 11) < 1e-15 && abs(dense[1, 1] - 1 / 9) < 1e-15)
    }

    @Test func aFailedRefreshThrowsAndKeepsThePreviousInverse() throws {
        var inverse = try DampedInverse<Float>(dimension: 2, maxRetries: 2)
        let good = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Float>(rows: 2, columns: 2, elements: [2, 1, 1, 2]))
        try inverse.refresh(from: good, damping: .plain(0.5))
        let before = (inverse.denseMatrix(), inverse.report)

        let bad = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Float>(rows: 2, columns: 2, elements: [1, 0, 0, -100]))
        let error = #expect(throws: NGError.self) {
            try inverse.refresh(from: bad, damping: .plain(1e-3))
        }
        guard case let .notPositiveDefinite(operation, block, order, lastShift, attempts)? = error else {
            Issue.record("expected notPositiveDefinite, got \(String(describing: error))")
            return
        }
        #expect(operation == "DampedInverse.refresh")
        // Three shifts in Float, then the same three in Double.
        #expect(block == 0 && order == 2 && attempts == 6)
        #expect(abs(lastShift - 0.1) < 1e-12)
        #expect(inverse.denseMatrix() == before.0)
        #expect(inverse.report == before.1)

        let nan = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Float>(rows: 2, columns: 2, elements: [2, 1, 1, .nan]))
        #expect(throws: NGError.nonFinite(
            operation: "DampedInverse.refresh", argument: "GFIM", row: 1, column: 1)) {
            try inverse.refresh(from: nan, damping: .plain(1))
        }
        for value in [0, -1, Double.nan, Double.infinity] {
            let error = #expect(throws: NGError.self) {
                try inverse.refresh(from: good, damping: .squareRoot(value))
            }
            guard case let .nonPositiveDamping(_, reported)? = error else {
                Issue.record("damping \(value): expected nonPositiveDamping, got \(String(describing: error))")
                continue
            }
            #expect(reported == value || (reported.isNaN && value.isNaN))
        }
        let wrongOrder = try BlockDiagonalMatrix<Float>(dimension: 3)
        #expect(throws: NGError.shapeMismatch(
            operation: "DampedInverse.refresh", argument: "GFIM (order × block size)",
            expected: Shape(2, 2), actual: Shape(3, 3))) {
            try inverse.refresh(from: wrongOrder, damping: .plain(1))
        }
        #expect(inverse.denseMatrix() == before.0)
        #expect(inverse.report == before.1)
    }

    @Test func applyRejectsBadInputAndLeavesTheOutputUntouched() throws {
        var inverse = try DampedInverse<Double>(dimension: 3)
        let g = Matrix<Double>(rows: 3, columns: 2, repeating: 1)
        var d = Matrix<Double>(rows: 3, columns: 2, repeating: 42)
        #expect(throws: NGError.notRefreshed(operation: "DampedInverse.apply")) {
            try inverse.apply(g, into: &d)
        }
        try inverse.refresh(from: BlockDiagonalMatrix(dimension: 3), damping: .plain(1))
        var wrongD = Matrix<Double>(rows: 2, columns: 3, repeating: 42)
        #expect(throws: NGError.shapeMismatch(
            operation: "DampedInverse.apply", argument: "D", expected: Shape(3, 2), actual: Shape(2, 3))) {
            try inverse.apply(g, into: &wrongD)
        }
        #expect(throws: NGError.shapeMismatch(
            operation: "DampedInverse.apply", argument: "G", expected: Shape(3, 3), actual: Shape(3, 2))) {
            try inverse.apply(g, side: .right, into: &d)
        }
        var nan = g
        nan[2, 1] = .nan
        #expect(throws: NGError.nonFinite(operation: "DampedInverse.apply", argument: "G", row: 2, column: 1)) {
            try inverse.apply(nan, into: &d)
        }
        #expect(d == Matrix(rows: 3, columns: 2, repeating: 42))
        #expect(wrongD == Matrix(rows: 2, columns: 3, repeating: 42))
        #expect(throws: NGError.self) { try DampedInverse<Double>(dimension: 3, maxRetries: -1) }
        #expect(throws: NGError.self) { try DampedInverse<Double>(dimension: 3, retryGrowth: 1) }
    }
}
