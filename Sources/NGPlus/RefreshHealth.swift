/// What a layer's refreshes went through, for a training loop to log: how many refreshes could
/// not factor even after their retries and were survived by keeping the inverse in use, and the
/// last such failure. Telemetry: not part of the saved state.
public struct RefreshHealth: Sendable, Equatable {
    /// Refreshes that failed every retry while an earlier inverse was in use, which stayed.
    public internal(set) var survivedFailures = 0
    /// The error of the last of them.
    public internal(set) var lastFailure: NGError?

    public init() {}

    mutating func record(_ failure: NGError) {
        survivedFailures += 1
        lastFailure = failure
    }
}
