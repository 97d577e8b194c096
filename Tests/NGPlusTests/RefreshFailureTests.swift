import NGPlus
import NGTestSupport
import Testing

/// The failure ladder seen from the optimizers: every rung a refresh reaches is counted per
/// layer (`refreshHealth`); a refresh that will not factor on any rung, on a layer that already
/// has an inverse, does not stop training: the step goes on with the inverse in use and the
/// failure is counted. A layer that never had an inverse still fails the step.
@Suite struct RefreshFailureTests {
    /// Step 0 factors a GFIM of full rank; step 2's GFIM is the rank-one `ones(4×4)`. With
    /// damping 1e-18 (shift 1e-9) it factors only in Double: the Double rung. With damping
    /// 1e-60 (shift 1e-30) it factors in neither precision, and no retry is allowed: survived.
    @Test(arguments: [(false, 1e-18), (true, 1e-18), (false, 1e-60), (true, 1e-60)])
    func everyRungIsCountedAndAFailureKeepsTheInverseInUse(kfac: Bool, damping: Double) throws {
        var generator = SeededGenerator(seed: 41)
        let x0 = Matrix<Float>.random(rows: 4, columns: 1, using: &generator)
        let dy0 = Matrix<Float>.random(rows: 4, columns: 4, using: &generator)
        let x2 = Matrix<Float>(rows: 1, columns: 1, repeating: 1)
        let dy2 = Matrix<Float>(rows: 1, columns: 4, repeating: 1)
        var weight = Matrix<Float>.random(rows: 4, columns: 1, using: &generator)
        let gradient = Matrix<Float>.random(rows: 4, columns: 1, scale: 0.1, using: &generator)
        func run<O: LayerOptimizer>(_ optimizer: inout O, health: (O, LayerHandle) throws -> RefreshHealth) throws
        where O.Scalar == Float {
            let layer = try optimizer.register(.dense(outputs: 4, inputs: 1, bias: false))
            for step in 0..<3 {
                if optimizer.usesObservation(layer) {
                    try optimizer.observe(layer, inputs: step == 2 ? x2 : x0, outputGradients: step == 2 ? dy2 : dy0)
                }
                try optimizer.step(layer, weight: &weight, gradient: gradient)
            }
            let report = try health(optimizer, layer)
            #expect(weight.firstNonFiniteIndex() == nil)
            if damping == 1e-18 {
                #expect(report.refreshes == 2 && report.doublePrecisionRefreshes == 1 && report.survivedFailures == 0)
                #expect(report.lastRung == .doublePrecision)
                #expect(report.lastShift == 1e-9)
                #expect((report.lastConditionEstimate ?? 0) > 1e6)
                return
            }
            #expect(report.refreshes == 1 && report.survivedFailures == 1)
            #expect(report.lastRung == .keptPreviousInverse)
            // The figures of the last refresh that factored: step 0's, at the requested shift.
            #expect(report.lastShift == (1e-60).squareRoot())
            guard case .notPositiveDefinite? = report.lastFailure else {
                Issue.record("expected a survived notPositiveDefinite, got \(String(describing: report.lastFailure))")
                return
            }
        }
        if kfac {
            var optimizer = try KFACOptimizer<Float>(configuration: KFACConfiguration(
                damping: .constant(damping), inverseInterval: 2, batchSize: 4, maxRetries: 0))
            try run(&optimizer) { try $0.refreshHealth(of: $1) }
        } else {
            var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                damping: .constant(damping), inverseInterval: 2, side: .left, method: .explicitInverse, batchSize: 4, maxRetries: 0))
            try run(&optimizer) { try $0.refreshHealth(of: $1) }
        }
    }
}
