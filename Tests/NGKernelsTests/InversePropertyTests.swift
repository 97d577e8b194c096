import NGKernels
import NGTestSupport
import Testing

/// Properties of the damped inverses on seeded random GFIMs across scales from denormal to
/// near overflow, of every structure a training run meets: full rank, rank-deficient (a column
/// repeated: exactly singular), identical samples (rank one), all zero, and a batch of one.
/// For each: the residual of `(F + s·I)·D = G`, the explicit inverse exactly symmetric and
/// positive definite, and Woodbury equal to the explicit inverse — each to a tolerance from the
/// condition number, checked in Double against plain loops.
@Suite struct InversePropertyTests {
    enum Structure: CaseIterable { case fullRank, repeatedColumn, identicalSamples, zero }

    @Test(arguments: scalarTypes)
    func dampedInversesKeepTheirPropertiesAtEveryScale(type: any BLASScalar.Type) throws {
        try properties(type)
    }

    func properties<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 2026)
        // |u| up to `scale`, so F's entries reach scale²: denormal at the low end (1e-40 in
        // Float, 1e-320 in Double), within a factor 30 of overflow at the high end.
        let scales: [Double] = S.self == Float.self ? [1e-20, 1e-10, 1, 1e10, 1e18] : [1e-160, 1e-20, 1, 1e20, 1e150]
        // The smallest shift used: representable, above the smallest normal number.
        let floor: Double = S.self == Float.self ? 1e-30 : 1e-300
        for trial in 0..<60 {
            let n = Int.random(in: 1...12, using: &generator)
            let batch = trial % 7 == 0 ? 1 : Int.random(in: 1...8, using: &generator)
            let scale = scales[trial % scales.count]
            let structure = Structure.allCases[(trial / scales.count) % Structure.allCases.count]
            let u = Matrix<S>(rows: batch, columns: n) { i, j in
                switch structure {
                case .fullRank: S(Double.random(in: -1...1, using: &generator) * scale)
                case .repeatedColumn, .identicalSamples: S(Double(((i + 1) * 7 + j * 3) % 11 - 5) / 5 * scale)
                case .zero: 0
                }
            }
            let samples = Reference(rows: batch, columns: n) { i, j in
                switch structure {
                case .repeatedColumn: Double(u[i, j == n - 1 && n > 1 ? 0 : j])
                case .identicalSamples: Double(u[0, j])
                default: Double(u[i, j])
                }
            }
            let factors = try Matrix<S>(rows: batch, columns: n, elements: samples.values.map { S($0) })
            let c = 1 / Double(batch)
            let f = c * (samples.transposed * samples)
            let largestDiagonal = (0..<n).map { f[$0, $0] }.max() ?? 0
            let shift = Swift.max(1e-2 * largestDiagonal, floor)
            let label = "\(S.self) trial \(trial): n \(n), batch \(batch), scale \(scale), \(structure)"

            let gfim = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<S>(rows: n, columns: n) { i, j in S(f[i, j]) })
            let damped = Reference(gfim.dense()) + shift * Reference.identity(n)
            var inverse = try DampedInverse<S>(dimension: n)
            let report = try inverse.refresh(from: gfim, damping: .plain(shift))
            #expect(report.rung == .requestedShift, "\(label)")

            // Exactly symmetric, and positive definite: a positive diagonal and vᵀ·X·v > 0.
            let x = Reference(inverse.denseMatrix())
            #expect(x == x.transposed, "\(label): not symmetric")
            #expect((0..<n).allSatisfy { x[$0, $0] > 0 }, "\(label): a non-positive diagonal")
            for _ in 0..<3 {
                let v = Reference(rows: n, columns: 1) { _, _ in Double.random(in: -1...1, using: &generator) }
                #expect((v.transposed * x * v)[0, 0] > 0, "\(label): not positive definite")
            }

            // The residual of (F + s·I)·D = G, relative to G, within c·n·u·κ.
            let g = Matrix<S>.random(rows: n, columns: 3, using: &generator)
            var d = Matrix<S>(rows: n, columns: 3)
            try inverse.apply(g, into: &d)
            let condition = damped.conditionNumber
            let residual = relativeError(damped * Reference(d), Reference(g))
            #expect(residual <= solveTolerance(S.self, order: n, condition: condition), "\(label): residual \(residual), κ \(condition)")

            // Woodbury from the samples equals the explicit inverse; its error is bounded
            // relative to ‖G‖/s (see WoodburyInverseTests), so both are compared times s. The
            // apply is five rounded steps (U·G, two triangular solves with C's factor, Vᵀ·T, the
            // subtraction from G), each within (n + r)·u·κ(C) of ‖G‖: twice the single-solve
            // bound of `solveTolerance` is 8·(n + r)·u·κ(C) ≥ 5·(n + r)·u·κ(C).
            var woodbury = try WoodburyInverse<S>(dimension: n)
            try woodbury.refresh(factors: factors, scale: S(c), damping: .plain(shift))
            var w = Matrix<S>(rows: n, columns: 3)
            try woodbury.apply(g, into: &w)
            let capacitance = shift * Reference.identity(batch) + c * (samples * samples.transposed)
            let tolerance = 2 * solveTolerance(S.self, order: n + batch, condition: capacitance.conditionNumber)
                + solveTolerance(Double.self, order: n, condition: condition)
            let expected = damped.inverse * Reference(g)
            let error = relativeError(shift * Reference(w), shift * expected, scale: Reference(g))
            #expect(error <= tolerance, "\(label): Woodbury differs by \(error) > \(tolerance)")
        }
    }
}

extension Reference {
    /// A matrix of `rows × columns` with entry (i, j) from `element`.
    init(rows: Int, columns: Int, element: (Int, Int) -> Double) {
        self.init(rows: rows, columns: columns)
        for i in 0..<rows { for j in 0..<columns { self[i, j] = element(i, j) } }
    }
}
