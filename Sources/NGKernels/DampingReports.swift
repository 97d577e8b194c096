/// The damping reports of an inverse that stages its refreshes: the one in use, the staged one,
/// and the storage of an old one, reused so that a refresh allocates nothing.
@usableFromInline
struct DampingReports: Sendable {
    /// What the refresh in use reported; nil before the first.
    @usableFromInline var current: DampingReport?
    /// What the staged refresh reported; nil when none is staged.
    @usableFromInline var staged: DampingReport?
    @usableFromInline var spare = DampingReport()

    @inlinable init() {}

    /// An empty report on reused storage, for a refresh being staged (which forgets any
    /// earlier staged one).
    @inlinable
    mutating func startStaging() -> DampingReport {
        staged = nil
        var report = DampingReport()
        swap(&report, &spare)
        report.removeAll()
        return report
    }

    /// Puts the staged report in use.
    /// - Precondition: a refresh is staged.
    @inlinable
    mutating func commit() {
        precondition(staged != nil, "commitStagedRefresh without a successful stageRefresh")
        spare = current ?? DampingReport()
        current = staged
        staged = nil
    }
}
