/// How a layer's statistics for its coming step are made the same on every process of a
/// data-parallel run (NGDistributed), decided by the step counters and the plan alone, so that
/// every process agrees on it without asking the others. A layer shares summed values, gathered
/// rows, both (K-FAC with a low-rank input factor: its output factor summed, its input rows
/// gathered) or nothing.
public struct SharedStatistics: Equatable, Sendable {
    /// Values, visited by `StatisticsSharing.withSummedStatistics(of:_:)`, that every process
    /// replaces by their sum over the processes, each process's weighted by its share of the
    /// batch: NG+'s explicit GFIM, K-FAC's explicit factors. 0: none.
    public let summedCount: Int
    /// Values a row of a low-rank factor, one row per sample: every process replaces its rows by
    /// all processes' rows in rank order, each scaled by its share of the batch
    /// (`StatisticsSharing.withGatheredRows(of:totalRows:_:)`), so that the inverse is exactly
    /// the one of the whole batch. 0: none.
    public let gatheredRowWidth: Int

    public init(summedCount: Int = 0, gatheredRowWidth: Int = 0) {
        self.summedCount = summedCount
        self.gatheredRowWidth = gatheredRowWidth
    }

    /// Nothing to share: off a statistics step, or a layer kind that keeps no statistics (a
    /// first-order optimizer's layers; NG+'s matrix form, whose statistics come from the
    /// already averaged gradient).
    public static var none: Self { Self() }

    /// Only `count` summed values.
    public static func summed(count: Int) -> Self { Self(summedCount: count) }

    /// Only a low-rank factor's rows of `width` values (a Woodbury plan).
    public static func gatheredRows(width: Int) -> Self { Self(gatheredRowWidth: width) }

    /// Whether any values are summed.
    public var sums: Bool { summedCount > 0 }

    /// Whether any rows are gathered.
    public var gathers: Bool { gatheredRowWidth > 0 }
}

/// An optimizer whose per-layer statistics a data-parallel run can share: after every layer's
/// `observe` and before its `step`, the statistics of each layer are replaced by those of the
/// whole batch over all processes. A first-order optimizer shares nothing.
///
/// Why weighting by the batch share is exact: with `B_r` of the batch's `B` samples on process
/// r and each process observing the gradients of its own mean loss, the whole batch's GFIM (and
/// each K-FAC factor) is `Σ_r (B_r/B)·F_r` — the per-sample gradients are the same whichever
/// process computes them — and the Woodbury factor of the whole batch is the processes' rows
/// scaled by `B_r/B`, with `F = B·UᵀU` (K-FAC's input rows are `x̃_i/B_r` for the same reason).
public protocol StatisticsSharing: LayerOptimizer {
    /// What `layer`'s coming step shares; `.none` for a handle this optimizer does not know.
    func sharedStatistics(of layer: LayerHandle) -> SharedStatistics

    /// Calls `body` with the buffers of `layer`'s summed statistics in turn (their counts add up
    /// to `SharedStatistics.summedCount`), after `observe`; the caller overwrites them in place.
    /// - Throws: `unknownLayer`; `invalidArgument` when `sharedStatistics(of: layer)` sums
    ///   nothing. `body` is then not called.
    mutating func withSummedStatistics(
        of layer: LayerHandle, _ body: (inout MutableSpan<Scalar>) -> Void) throws

    /// Calls `body` with `layer`'s low-rank factor, a buffer of `totalRows` rows whose first
    /// rows are this process's (its batch); the caller writes every process's rows, and the
    /// factor has `totalRows` rows from then on.
    /// - Throws: `unknownLayer`; `invalidArgument` when `sharedStatistics(of: layer)` gathers
    ///   no rows or `totalRows` is fewer than this process's batch. Nothing changes.
    mutating func withGatheredRows(
        of layer: LayerHandle, totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void) throws

    /// The refresh `layer`'s coming step makes, when one process can make it for all (after the
    /// statistics are shared); nil when none is due, or when every process makes its own (a
    /// Woodbury inverse, NG+'s matrix form: cheaper to make than to wait for).
    func sharedRefresh(of layer: LayerHandle) -> SharedRefresh?

    /// On the process that owns the refresh: makes it now, as the coming step would, and
    /// writes its record into buffers of `sharedRefresh`'s sizes. Hand what it returns to the
    /// coming step (`step(_:weight:gradient:refresh:)`), which then uses it.
    /// - Throws: `unknownLayer`; `invalidArgument` when no shared refresh is due or the buffers
    ///   are not `sharedRefresh`'s sizes; what the step would throw for it
    ///   (`notPositiveDefinite` without an inverse in use, `missingStatistics`); nothing changes.
    mutating func makeSharedRefresh(
        of layer: LayerHandle, values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>
    ) throws -> PreparedRefresh

    /// On every other process: makes the owner's record the coming step's refresh, exactly as
    /// if this process had made it. Hand what it returns to the coming step.
    /// - Throws: `unknownLayer`; `invalidArgument` when no shared refresh is due or the record is
    ///   not `sharedRefresh`'s sizes. Nothing changes.
    mutating func adoptSharedRefresh(
        of layer: LayerHandle, values: Span<Scalar>, figures: Span<Double>
    ) throws -> PreparedRefresh

    /// `LayerOptimizer.step(_:weight:gradient:)` with the refresh made or adopted ahead of it
    /// (nil: none, the step makes its own when one is due).
    /// - Throws: what the step throws; `invalidArgument` when `refresh` was prepared for another
    ///   layer or step. Nothing changes.
    mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>, refresh: PreparedRefresh?
    ) throws
}

/// A layer's coming refresh made or adopted ahead of its step in a data-parallel run
/// (`StatisticsSharing.makeSharedRefresh`, `adoptSharedRefresh`), for that step only.
public struct PreparedRefresh: Sendable {
    /// The layer and the step it was made for.
    public let layer: LayerHandle
    public let step: Int
    let ahead: RefreshAhead
}

/// A refresh one process makes for all of a data-parallel run: its cost (to balance the
/// owners) and the size of what it sends — the staged inverse or Cholesky factor, whichever
/// the plan keeps (the same size: an explicit inverse is sent, never a factor the others would
/// have to invert), and a few figures about how it went.
public struct SharedRefresh: Equatable, Sendable {
    /// The refresh's flops (the plan's estimate).
    public let flops: Double
    /// The values sent.
    public let values: Int
    /// The figures sent (Double).
    public let figures: Int
}
