/// One layer's curvature, in the verbs the K-FAC libraries use (kfac-jax's curvature blocks):
/// statistics are accumulated (each conformer from what it is given), a refresh of the damped
/// inverse is *staged* from them beside the inverse in use, the inverse — staged or current —
/// is applied (each conformer to what its layer hands it: a gradient, or a table's looked-up
/// rows), and the staged refresh is *committed* only when the whole step has passed its last
/// check. Nothing a conformer does before `commitRefresh` changes its saved state.
///
/// Conformers: `PerSampleCurvature` (dense and conv2d layers; left or right side, blocks or
/// Woodbury), `MatrixCurvature` (the mini-batch GFIM of any matrix parameter),
/// `EmbeddingCurvature` (a table's right-side GFIM) and `KFACCurvature` (K-FAC's two Kronecker
/// factors).
protocol CurvatureBlock: Sendable {
    associatedtype Scalar: BLASScalar

    /// Computes the damped inverse from the statistics so far, aside; the one in use stays.
    /// Returns what the refresh came to (the rung, the shift, the condition estimate).
    /// - Throws: `notPositiveDefinite` (and the kernel errors of a refresh) with nothing changed.
    mutating func stageRefresh(damping: DampingRule) throws(NGError) -> RefreshOutcome

    /// Puts the staged inverse in use.
    mutating func commitRefresh()

    /// True once a refresh has been committed: an inverse is in use.
    var hasInverse: Bool { get }
}

/// A curvature block whose refresh one process can make for all of a data-parallel run and
/// send to the others (`StatisticsSharing`): its staged refresh written as a record and
/// adopted from one. The matrix form is not one: every process makes its refresh from the
/// gradient, already the whole batch's.
protocol SharedRefreshBlock: CurvatureBlock {
    /// The values and figures of a staged refresh as one process sends it to the others, or nil
    /// when every process makes its own (a Woodbury inverse).
    var refreshRecordSize: (values: Int, figures: Int)? { get }

    /// Writes the staged refresh's record (`DampedInverse.writeStagedRecord`, inverse by inverse).
    mutating func writeStagedRefresh(values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>)

    /// Makes another process's record this block's staged refresh; returns its summary.
    mutating func adoptStagedRefresh(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) -> RefreshSummary
}

extension CurvatureBlock {
    /// Stages a refresh when `due`. A refresh that will not factor on any rung
    /// (`notPositiveDefinite`) is survived when an inverse is already in use: the failure is
    /// returned in `outcome` and the inverse in use applies. `outcome` is what the step counts
    /// into `RefreshHealth` when it commits (nil: no refresh was due). Returns the slot the
    /// step applies. A layer that never had an inverse throws.
    mutating func stageRefresh(
        due: Bool, damping: DampingRule, outcome: inout RefreshOutcome?
    ) throws(NGError) -> InverseSlot {
        guard due else { return .current }
        do {
            outcome = try stageRefresh(damping: damping)
            return .staged
        } catch {
            guard case .notPositiveDefinite = error, hasInverse else { throw error }
            outcome = RefreshOutcome(failure: error)
            return .current
        }
    }
}

/// A block that preconditions a dense or conv2d layer's gradient from statistics of the layer's
/// inputs and output gradients (`PerSampleCurvature`, `KFACCurvature`).
protocol ObservedCurvatureBlock: SharedRefreshBlock {
    /// Takes the statistics of one validated mini-batch, all or nothing.
    /// - Throws: `nonFinite` when finite inputs overflow them; nothing changes.
    mutating func accumulate(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, runningAverage: Scalar, _ operation: NGError.Operation)
        throws(NGError)

    /// The direction from the inverse in `slot`, the gradient formed or fused as the block needs.
    mutating func apply(_ gradient: LayerGradient<Scalar>, into direction: inout Matrix<Scalar>, slot: InverseSlot)

    /// The flops of one refresh, which a data-parallel run spreads over its processes.
    var refreshFlops: Double { get }

    /// How a data-parallel run combines the block's statistics on a statistics step.
    var sharedStatistics: SharedStatistics { get }

    /// Visits the buffers that a `.summed` share adds up over the processes, in place.
    mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void)
}

extension ObservedCurvatureBlock {
    /// The step's direction into `direction`, from the refresh made ahead when there is one,
    /// else from a refresh staged now when `due` (`stageRefresh(due:damping:outcome:)`).
    /// Returns the slot applied.
    mutating func precondition(
        _ gradient: LayerGradient<Scalar>, refresh: RefreshAhead?, due: Bool, damping: DampingRule,
        outcome: inout RefreshOutcome?, into direction: inout Matrix<Scalar>
    ) throws(NGError) -> InverseSlot {
        let slot = try refresh.stagedRefresh(of: &self, due: due, damping: damping, outcome: &outcome)
        apply(gradient, into: &direction, slot: slot)
        return slot
    }
}
