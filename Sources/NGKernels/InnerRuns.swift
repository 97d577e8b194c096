/// Which values of its inner range a gathered product sums: runs of `length` values, `stride`
/// apart, from the range's start, the last cut at the range's end. A convolution's output rows
/// lie on its padded planes' wider rows (`stride` a padded row, `length` an output row): the
/// weight gradient's sum over positions skips each row's junk columns so.
public struct InnerRuns: Sendable, Equatable {
    /// Values in a run, at least 1.
    public let length: Int
    /// From one run's first value to the next's, at least `length`.
    public let stride: Int

    public init(length: Int, stride: Int) {
        precondition(length >= 1 && stride >= length, "a run has at least one value and runs do not overlap")
        self.length = length
        self.stride = stride
    }

    /// Every value of the range, as one run.
    public static let whole = InnerRuns(length: .max, stride: .max)

    /// Whether the value `offset` places after the range's start is summed.
    @inlinable
    public func contains(offset: Int) -> Bool { length >= stride || offset % stride < length }

    /// `(length, stride)` for a range of `count` values, one run of them all where a run is as
    /// long as the range.
    @usableFromInline
    func clamped(to count: Int) -> (length: Int, stride: Int) {
        length >= count ? (count, count) : (length, stride)
    }
}
