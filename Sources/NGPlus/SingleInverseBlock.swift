import NGKernels

/// The refresh verbs of the one inverse a curvature block holds: a `DampedInverse`, or a
/// `CurvatureInverse` (Cholesky or Woodbury).
protocol BlockInverse: Sendable {
    associatedtype Scalar: BLASScalar

    /// True once a refresh has been committed.
    var isRefreshed: Bool { get }

    /// Puts the staged refresh in use.
    mutating func commitStagedRefresh()

    /// The record of a staged refresh as one process sends it to the others; nil when every
    /// process makes its own.
    var sharedRecordSize: (values: Int, figures: Int)? { get }

    /// `DampedInverse.writeStagedRecord`.
    mutating func writeStagedRecord(values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>)

    /// `DampedInverse.adoptStagedRecord`.
    mutating func adoptStagedRecord(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) -> RefreshSummary
}

extension DampedInverse: BlockInverse {
    var sharedRecordSize: (values: Int, figures: Int)? { stagedRecordSize }
}

/// A curvature block with one inverse, whose commit and state of refresh are the inverse's
/// (`PerSampleCurvature`, `MatrixCurvature`, `EmbeddingCurvature`).
protocol SingleInverseBlock: CurvatureBlock {
    associatedtype Inverse: BlockInverse where Inverse.Scalar == Scalar
    var inverse: Inverse { get }

    /// `body` on the inverse in place. (A `{ get set }` requirement would reach it through a
    /// `modify` coroutine, whose frame an unoptimized build allocates on every call.)
    mutating func withInverse<Result>(_ body: (inout Inverse) -> Result) -> Result
}

extension SingleInverseBlock {
    mutating func commitRefresh() { withInverse { $0.commitStagedRefresh() } }

    var hasInverse: Bool { inverse.isRefreshed }
}

/// A single-inverse block's shared refresh is its inverse's record.
extension SingleInverseBlock where Self: SharedRefreshBlock {
    var refreshRecordSize: (values: Int, figures: Int)? { inverse.sharedRecordSize }

    mutating func writeStagedRefresh(values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>) {
        withInverse { $0.writeStagedRecord(values: values, figures: figures) }
    }

    mutating func adoptStagedRefresh(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) -> RefreshSummary {
        withInverse { $0.adoptStagedRecord(values: values, figures: figures) }
    }
}
