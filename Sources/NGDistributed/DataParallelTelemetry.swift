/// Where a data-parallel process's synchronizations went, summed over its steps: the seconds in
/// collectives (all-reduce, all-gather, broadcasts: waiting for the slowest process included)
/// and in the refreshes it made for the others, and the values it contributed to each kind of
/// collective.
public struct DataParallelTelemetry: Sendable, Equatable {
    /// `synchronize` calls.
    public var steps = 0
    /// Calls into MPI collectives.
    public var collectives = 0
    /// Seconds inside MPI collectives.
    public var communicationSeconds = 0.0
    /// Seconds making the refreshes this process owns.
    public var refreshSeconds = 0.0
    /// Values in the fused all-reduces (every process contributes all of them).
    public var allReduceValues = 0
    /// Values of this process's blocks in the all-gathers (Woodbury rows).
    public var gatherValues = 0
    /// Values this process broadcast as the owner of refreshes.
    public var broadcastValues = 0
    /// Values in batch normalization's sums (`CrossProcessSums`; their calls and seconds are
    /// in `collectives` and `communicationSeconds`).
    public var batchStatisticsValues = 0
}
