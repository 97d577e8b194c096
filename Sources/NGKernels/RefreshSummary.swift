/// What a staged refresh came to, in three figures and no arrays: what the optimizers read on
/// every refresh (a `DampingReport` passed around would share its arrays' storage, which the
/// next refresh then could not reuse without allocating).
@usableFromInline
package struct RefreshSummary: Sendable {
    /// The lowest rung any block reached.
    @usableFromInline package var rung = RefreshRung.requestedShift
    /// The largest shift any block was factored with.
    @usableFromInline package var largestShift = 0.0
    /// The largest condition estimate of any block, nil when none is known.
    @usableFromInline package var largestConditionEstimate: Double?

    @inlinable package init() {}

    /// Adds one block's figures.
    @inlinable
    package mutating func include(shift: Double, retries: Int, inDouble: Bool, conditionEstimate: Double?) {
        rung = Swift.max(rung, inDouble ? .doublePrecision : retries > 0 ? .largerShift : .requestedShift)
        largestShift = Swift.max(largestShift, shift)
        if let conditionEstimate {
            largestConditionEstimate = Swift.max(largestConditionEstimate ?? conditionEstimate, conditionEstimate)
        }
    }

    /// Merges another inverse's summary (K-FAC has two).
    @inlinable
    package mutating func include(_ other: RefreshSummary) {
        rung = Swift.max(rung, other.rung)
        largestShift = Swift.max(largestShift, other.largestShift)
        if let estimate = other.largestConditionEstimate {
            largestConditionEstimate = Swift.max(largestConditionEstimate ?? estimate, estimate)
        }
    }
}
