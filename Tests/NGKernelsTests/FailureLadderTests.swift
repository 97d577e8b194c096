import NGKernels
import NGTestSupport
import Testing

/// The rungs of a refresh that will not factor at the shift it asked for: a larger shift, at
/// least the matrix's own rounding level; then, for Float, the same ladder in Double.
@Suite struct FailureLadderTests {
    /// F = 10¹²·ones(3×3) in Float: the requested shift 1e-3 is far below F's rounding level
    /// (ulp(10¹²) ≈ 6.6e4), and ×10 per retry from it would need eight retries to get there. The
    /// first retry jumps to `scale·order·ε` = 10¹²·3·ε_Float and factors.
    @Test func aRetryJumpsToTheMatrixsRoundingLevel() throws {
        let f = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<Float>(rows: 3, columns: 3, repeating: 1e12))
        var inverse = try DampedInverse<Float>(dimension: 3, maxRetries: 6)
        let report = try inverse.refresh(from: f, damping: .plain(1e-3))
        #expect(report.retries == [1])
        #expect(report.inDouble == [false])
        #expect(report.rung == .largerShift)
        let floor = Double(Float(1e12)) * 3 * Double(Float.ulpOfOne)
        #expect(abs(report.usedShifts[0] - floor) <= 1e-12 * floor)
        #expect(inverse.denseMatrix().firstNonFiniteIndex() == nil)
        // The estimate bounds the true condition number (about 3·10¹²/floor) from below.
        let estimate = try #require(report.conditionEstimates[0])
        #expect(estimate >= 1 && estimate <= 3e12 / floor * 1.01)
    }

    /// F = ones(2×2), shift 1e-9: `1 + 1e-9` is 1 in Float, so F + s·I is singular there at any
    /// shift the ladder may try without retries; in Double it factors, and the inverse (entries
    /// near 5·10⁸) is finite in Float. Checked against the exact inverse
    /// `[[1+s, −1], [−1, 1+s]] / ((1+s)² − 1)`, to the Double computation's `κ·ε` and Float's rounding.
    @Test(arguments: [InverseMethod.explicitInverse, .choleskySolve])
    func aFloatInverseThatFailsInFloatIsComputedInDouble(method: InverseMethod) throws {
        let s = 1e-9
        let f = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<Float>(rows: 2, columns: 2, repeating: 1))
        var inverse = try DampedInverse<Float>(dimension: 2, method: method, maxRetries: 0)
        let report = try inverse.refresh(from: f, damping: .plain(s))
        #expect(report.inDouble == [true])
        #expect(report.rung == .doublePrecision)
        #expect(report.usedShifts == [s])
        let determinant = (1 + s) * (1 + s) - 1
        let exact = Reference(rows: 2, columns: 2, values: [1 + s, -1, -1, 1 + s].map { $0 / determinant })
        let kappa = (2 + s) / s
        var applied = Matrix<Float>(rows: 2, columns: 2)
        try inverse.apply(Matrix(rows: 2, columns: 2) { i, j in i == j ? 1 : 0 }, into: &applied)
        // The apply of the Cholesky form is itself a Float solve of an ill-conditioned system:
        // its error is Float's κ·ε; the explicit inverse's is Double's κ·ε plus one rounding.
        let tolerance = method == .explicitInverse
            ? 8 * (kappa * unitRoundoff(Double.self) + unitRoundoff(Float.self))
            : 8 * kappa * unitRoundoff(Float.self)
        #expect(relativeError(Reference(applied), exact) <= tolerance)
        #expect(report.conditionEstimates[0].map { $0 >= 1 && $0 <= kappa * 1.01 } == true)
    }

    /// A Double inverse has no Double rung: the same matrix at a shift below Double's rounding
    /// fails after its retries, and says how many attempts it made.
    @Test func aDoubleInverseHasNoSecondPrecision() throws {
        let f = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<Double>(rows: 2, columns: 2, repeating: 1))
        var inverse = try DampedInverse<Double>(dimension: 2, maxRetries: 0)
        #expect(throws: NGError.notPositiveDefinite(
            operation: "DampedInverse.refresh", block: 0, order: 2, lastShift: 1e-30, attempts: 1)) {
            try inverse.refresh(from: f, damping: .plain(1e-30))
        }
        #expect(!inverse.isRefreshed)
    }

    /// Woodbury's capacitance `c·U·Uᵀ + s·I` climbs the same ladder, from its own scale: three
    /// samples of 10⁶ make it the matrix of the first test.
    @Test func woodburyRetriesFromTheCapacitancesScale() throws {
        let u = Matrix<Float>(rows: 3, columns: 1, repeating: 1e6)
        var inverse = try WoodburyInverse<Float>(dimension: 1, maxRetries: 6)
        let report = try inverse.refresh(factors: u, scale: 1, damping: .plain(1e-3))
        #expect(report.retries == [1])
        let floor = Double(Float(1e6) * Float(1e6)) * 3 * Double(Float.ulpOfOne)
        #expect(abs(report.usedShifts[0] - floor) <= 1e-12 * floor)
        #expect(report.conditionEstimates[0] != nil)
    }

    /// Woodbury's capacitance takes the Double rung too: two identical samples of 1 make
    /// `C = ones(2×2) + s·I`, singular in Float at s = 1e-9. In Double it factors; the apply
    /// stays in Float and is checked against the exact `g/(2 + s)` to the Woodbury bound
    /// (relative to ‖G‖/s, κ(C) ≈ 2/s: no better than Float's rounding allows at this shift).
    @Test func woodburyTakesTheDoubleRungToo() throws {
        let s = 1e-9
        var inverse = try WoodburyInverse<Float>(dimension: 1, maxRetries: 0)
        let report = try inverse.refresh(
            factors: Matrix(rows: 2, columns: 1, repeating: 1), scale: 1, damping: .plain(s))
        #expect(report.inDouble == [true])
        #expect(report.rung == .doublePrecision)
        let g = Matrix<Float>(rows: 1, columns: 3) { _, j in Float(j + 1) }
        var d = Matrix<Float>(rows: 1, columns: 3)
        try inverse.apply(g, into: &d)
        #expect(d.firstNonFiniteIndex() == nil)
        let exact = Reference(rows: 1, columns: 3, values: (1...3).map { Double($0) / (2 + s) })
        let capacitance = Reference(rows: 2, columns: 2, values: [1 + s, 1, 1, 1 + s])
        let tolerance = solveTolerance(Float.self, order: 3, condition: capacitance.conditionNumber)
        #expect(relativeError(s * Reference(d), s * exact, scale: Reference(g)) <= tolerance)
    }
}
