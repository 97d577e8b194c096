import NGKernels

/// What a layer's refreshes went through, rung by rung of the failure ladder, for a training
/// loop to log: counts per rung and the figures of the last refresh. Telemetry: not part of the
/// saved state (a restored optimizer starts counting again).
public struct RefreshHealth: Sendable, Equatable {
    /// Refreshes whose inverse was put in use.
    public internal(set) var refreshes = 0
    /// Of those, refreshes that needed a larger shift than the damping asked for.
    public internal(set) var largerShiftRefreshes = 0
    /// Of those, refreshes that factored only in Double (Float optimizers).
    public internal(set) var doublePrecisionRefreshes = 0
    /// Refreshes that failed every rung while an earlier inverse was in use, which stayed.
    public internal(set) var survivedFailures = 0
    /// The rung the last refresh reached; nil before the first.
    public internal(set) var lastRung: RefreshRung?
    /// The largest diagonal shift the last refresh that factored used.
    public internal(set) var lastShift: Double?
    /// The largest condition estimate of the last refresh that factored (see
    /// `DampingReport.conditionEstimates`); a figure near 1/ε of the precision warns that the
    /// damping is too small for the curvature.
    public internal(set) var lastConditionEstimate: Double?
    /// The error of the last survived failure.
    public internal(set) var lastFailure: NGError?

    public init() {}

    mutating func record(_ outcome: RefreshOutcome) {
        if let failure = outcome.failure {
            survivedFailures += 1
            lastFailure = failure
            lastRung = .keptPreviousInverse
            return
        }
        refreshes += 1
        let summary = outcome.summary
        switch summary.rung {
        case .largerShift: largerShiftRefreshes += 1
        case .doublePrecision: doublePrecisionRefreshes += 1
        case .requestedShift, .keptPreviousInverse: break
        }
        lastRung = summary.rung
        lastShift = summary.largestShift
        lastConditionEstimate = summary.largestConditionEstimate
    }
}

/// What one staged refresh of a layer came to (its inverses' summaries merged), or the failure
/// it survived: counted into `RefreshHealth` when the step commits.
struct RefreshOutcome: Sendable {
    var failure: NGError?
    var summary = RefreshSummary()
}
