/// NG+ as a `CurvatureSettings`: per layer the cheapest plan (`CurvaturePlan`) — per-sample
/// statistics for dense and conv2d layers, the mini-batch GFIM form for matrix parameters, the
/// right-side GFIM for embedding tables, the identity for vectors — on momentum SGD or Adam.
extension NGPlusConfiguration: CurvatureSettings {
    public static var stateKind: String { "NGPlusOptimizer" }

    public func curvature(for spec: LayerSpec, _ operation: NGError.Operation) throws(NGError) -> CurvatureChoice {
        let statistics = statisticsInterval(for: spec)
        var request = PlanRequest(
            side: side, method: method, blockSize: blockSize, batch: batchSize, inverseInterval: inverseInterval,
            statisticsInterval: statistics,
            woodburyAllowed: runningAverage == 1 && statistics == inverseInterval, fused: fusedApply)
        switch spec {
        case .dense, .conv2d:
            return .perSample(try request.plan(for: spec, operation: operation), batch: batchSize, maxRetries: maxRetries)
        case .matrix:
            request.woodburyAllowed = false
            return .matrixForm(
                try request.plan(for: spec, operation: operation), beta: matrixBeta, epsilon: matrixEpsilon,
                start: matrixMomentumStart, maxRetries: maxRetries)
        case .embedding:
            request.woodburyAllowed = false
            return .embedding(
                try request.plan(for: spec, operation: operation), inputFactor: .identity, runningAverage: runningAverage,
                maxRetries: maxRetries)
        case .vector:
            return .identity
        }
    }

    /// The configured interval; nil: at refresh steps, every step for matrix parameters.
    public func statisticsInterval(for spec: LayerSpec) -> Int {
        if let statisticsInterval { return statisticsInterval }
        if case .matrix = spec { return 1 }
        return inverseInterval
    }

    /// Layer j refreshes at steps `t ≡ j (mod k)` when `staggered`.
    public func refreshOffset(ofLayer index: Int) -> Int {
        staggered ? index % inverseInterval : 0
    }

    /// λ_t in the configured form, or the reference's for the layer kind.
    public func dampingRule(for spec: LayerSpec, step: Int) -> DampingRule {
        let form = dampingForm ?? {
            if case .matrix = spec { return .clampedSquareRoot }
            return .squareRoot
        }()
        return form.rule(damping.value(at: step))
    }

    /// Adam when `adam` is set, else momentum SGD.
    public var baseRule: PreconditionedStepSettings { PreconditionedStepSettings(sgd: sgd, adam: adam) }
}
