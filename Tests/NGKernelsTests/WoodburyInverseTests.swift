import NGKernels
import NGTestSupport
import Testing

@Suite struct WoodburyInverseTests {
    @Test(arguments: scalarTypes)
    func woodburyEqualsTheExplicitDampedInverse(type: any BLASScalar.Type) throws {
        try woodburyCase(type)
    }

    func woodburyCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 51)
        for (m, n, batch) in shapes {
            for side in Side.allCases {
                for rule in [DampingRule.plain(0.1), .squareRoot(0.01), .clampedSquareRoot(1e-3), .relative(0.05)] {
                    let order = side == .left ? m : n
                    let u = Matrix<S>.random(rows: batch + 1, columns: order, using: &generator)
                    let scale = S(batch)
                    var woodbury = try WoodburyInverse<S>(dimension: order)
                    let report = try woodbury.refresh(factors: u, rank: batch, scale: scale, damping: rule)
                    #expect(woodbury.rank == batch)

                    let ru = Reference(u).block(0..<batch, 0..<order)
                    let f = Double(batch) * (ru.transposed * ru)
                    let maxAbsolute = f.values.map(abs).max()!
                    let meanDiagonal = (0..<order).reduce(0.0) { $0 + f[$1, $1] } / Double(order)
                    let shift = rule.shift(maxAbsolute: maxAbsolute, meanDiagonal: meanDiagonal)
                    #expect(abs(report.usedShifts[0] - shift) <= 1e-6 * shift)
                    let damped = f + shift * Reference.identity(order)
                    let g = Matrix<S>.random(rows: m, columns: n, using: &generator)
                    let expected = side == .left ? damped.inverse * Reference(g) : Reference(g) * damped.inverse
                    var d = Matrix<S>(rows: m, columns: n)
                    try woodbury.apply(g, side: side, into: &d)
                    // Woodbury subtracts two terms of size ‖G‖/s: its forward error is bounded
                    // relative to ‖G‖/s by c·(m + r)·u·κ(C), C = s·I + c·U·Uᵀ the capacitance
                    // matrix — not relative to ‖F̂⁻¹G‖ by κ(F̂) as for an explicit inverse. The
                    // Gauss–Jordan reference adds its own error, c·m·u_Double·κ(F̂) (it matters
                    // only for Double).
                    let capacitance = shift * Reference.identity(batch) + Double(batch) * (ru * ru.transposed)
                    let tolerance = solveTolerance(S.self, order: order + batch, condition: capacitance.conditionNumber)
                        + solveTolerance(Double.self, order: order, condition: damped.conditionNumber)
                    let error = relativeError(Reference(d), expected, scale: (1 / shift) * Reference(g))
                    #expect(error <= tolerance, "\(m)×\(n) r=\(batch) \(side) \(rule): \(error) > \(tolerance)")
                }
            }
        }
    }

    @Test(arguments: scalarTypes)
    func applyRightToInputsEqualsTheAugmentedProduct(type: any BLASScalar.Type) throws {
        try applyRightCase(type)
    }

    /// `[X | 1]·F̂⁻¹` against the reference with the ones column formed explicitly.
    func applyRightCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 52)
        for (_, n, batch) in shapes {
            for ones in [true, false] {
                let order = n + (ones ? 1 : 0)
                let u = Matrix<S>.random(rows: batch, columns: order, using: &generator)
                var woodbury = try WoodburyInverse<S>(dimension: order)
                try woodbury.refresh(factors: u, scale: S(batch), damping: .plain(0.1))
                let ru = Reference(u)
                let damped = Double(batch) * (ru.transposed * ru) + 0.1 * Reference.identity(order)
                let x = Matrix<S>.random(rows: batch + 2, columns: n, using: &generator)
                var augmented = Reference(rows: batch + 2, columns: order)
                for r in 0..<(batch + 2) {
                    for c in 0..<order { augmented[r, c] = c < n ? Double(x[r, c]) : 1 }
                }
                var w = Matrix<S>(rows: batch + 2, columns: order, repeating: 7)
                try woodbury.applyRight(toInputs: x, appendingOnes: ones, into: &w)
                // The tolerance of `woodburyEqualsTheExplicitDampedInverse`, relative to ‖X̃‖/s.
                let capacitance = 0.1 * Reference.identity(batch) + Double(batch) * (ru * ru.transposed)
                let tolerance = solveTolerance(S.self, order: order + batch, condition: capacitance.conditionNumber)
                    + solveTolerance(Double.self, order: order, condition: damped.conditionNumber)
                let error = relativeError(Reference(w), augmented * damped.inverse, scale: (1 / 0.1) * augmented)
                #expect(error <= tolerance, "\(batch)×\(n) ones \(ones): \(error) > \(tolerance)")
            }
        }
        var woodbury = try WoodburyInverse<S>(dimension: 3)
        let x = Matrix<S>(rows: 2, columns: 2, repeating: 1)
        var w = Matrix<S>(rows: 2, columns: 3, repeating: 9)
        #expect(throws: NGError.notRefreshed(operation: "WoodburyInverse.applyRight")) {
            try woodbury.applyRight(toInputs: x, appendingOnes: true, into: &w)
        }
        try woodbury.refresh(factors: Matrix(rows: 1, columns: 3, repeating: 1), scale: 1, damping: .plain(1))
        #expect(throws: NGError.shapeMismatch(
            operation: "WoodburyInverse.applyRight", argument: "X", expected: Shape(2, 3), actual: Shape(2, 2))) {
            try woodbury.applyRight(toInputs: x, appendingOnes: false, into: &w)
        }
        var nan = x
        nan[1, 1] = .nan
        #expect(throws: NGError.nonFinite(operation: "WoodburyInverse.applyRight", argument: "X", row: 1, column: 1)) {
            try woodbury.applyRight(toInputs: nan, appendingOnes: true, into: &w)
        }
        #expect(w == Matrix(rows: 2, columns: 3, repeating: 9))
    }

    @Test func rankOneHandChecked() throws {
        // F = 1·uᵀu with u = [1, 1], s = 1: F̂ = [[2, 1], [1, 2]], F̂⁻¹ = [[2, −1], [−1, 2]]/3.
        var woodbury = try WoodburyInverse<Double>(dimension: 2)
        try woodbury.refresh(factors: Matrix(rows: 1, columns: 2, elements: [1, 1]), scale: 1, damping: .plain(1))
        var d = Matrix<Double>(rows: 2, columns: 1)
        try woodbury.apply(Matrix(rows: 2, columns: 1, elements: [3, 0]), into: &d)
        #expect(abs(d[0, 0] - 2) < 1e-15 && abs(d[1, 0] + 1) < 1e-15)
    }

    @Test func badInputThrowsAndKeepsThePreviousState() throws {
        var woodbury = try WoodburyInverse<Float>(dimension: 3)
        let g = Matrix<Float>(rows: 3, columns: 2, repeating: 1)
        var d = Matrix<Float>(rows: 3, columns: 2, repeating: 9)
        #expect(throws: NGError.notRefreshed(operation: "WoodburyInverse.apply")) {
            try woodbury.apply(g, into: &d)
        }
        let u = Matrix<Float>(rows: 2, columns: 3, repeating: 0.5)
        try woodbury.refresh(factors: u, scale: 2, damping: .plain(0.5))
        try woodbury.apply(g, into: &d)
        let before = d
        let op: NGError.Operation = "WoodburyInverse.refresh"
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "factors", expected: Shape(2, 3), actual: Shape(2, 4))) {
            try woodbury.refresh(factors: Matrix(rows: 2, columns: 4), scale: 1, damping: .plain(1))
        }
        #expect(throws: NGError.self) { try woodbury.refresh(factors: u, rank: 3, scale: 1, damping: .plain(1)) }
        #expect(throws: NGError.self) { try woodbury.refresh(factors: u, scale: 0, damping: .plain(1)) }
        #expect(throws: NGError.nonPositiveDamping(operation: op, value: -1)) {
            try woodbury.refresh(factors: u, scale: 1, damping: .plain(-1))
        }
        var nan = u
        nan[1, 2] = .nan
        #expect(throws: NGError.nonFinite(operation: op, argument: "factors", row: 1, column: 2)) {
            try woodbury.refresh(factors: nan, scale: 1, damping: .plain(1))
        }
        // Finite factors whose Gram matrix overflows Float (3·(4e19)² > 3.4e38): said at once,
        // not after futile retries with larger shifts.
        var huge = u
        huge[1, 0] = 4e19
        huge[1, 1] = 4e19
        huge[1, 2] = 4e19
        #expect(throws: NGError.nonFinite(operation: op, argument: "c·U·Uᵀ (the factors overflow)", row: 1, column: 1)) {
            try woodbury.refresh(factors: huge, scale: 1, damping: .plain(1))
        }
        var again = Matrix<Float>(rows: 3, columns: 2)
        try woodbury.apply(g, into: &again)
        #expect(again == before)
        #expect(woodbury.rank == 2)
        var wrong = Matrix<Float>(rows: 2, columns: 3, repeating: 9)
        #expect(throws: NGError.self) { try woodbury.apply(g, into: &wrong) }
        #expect(wrong == Matrix(rows: 2, columns: 3, repeating: 9))
    }
}
