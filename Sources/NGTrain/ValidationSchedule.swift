import NGPlus

/// When a training loop validates within an epoch: `perEpoch` times, evenly spaced over the
/// epoch's steps, the last after its last step. A race's time to target is known only to the
/// interval between validations, so a loop that reaches its target within one epoch needs
/// more than one to say how soon.
public struct ValidationSchedule: Sendable, Equatable {
    /// Validations an epoch (at most one a step).
    public let perEpoch: Int

    /// - Throws: `invalidArgument` for fewer than one validation an epoch.
    public init(perEpoch: Int) throws(NGError) {
        try NGError.Operation.validationScheduleInit.require(
            perEpoch >= 1, "perEpoch", "must be at least 1, got \(perEpoch)")
        self.perEpoch = perEpoch
    }

    private init(uncheckedPerEpoch: Int) { perEpoch = uncheckedPerEpoch }

    /// Once an epoch, after its last step.
    public static let everyEpoch = ValidationSchedule(uncheckedPerEpoch: 1)

    /// Whether the loop validates after `step` (1…`steps`) of an epoch of `steps` steps: where
    /// ⌊step·n/steps⌋ passes an integer, n = min(`perEpoch`, `steps`) — n validations, at most
    /// ⌈steps/n⌉ steps apart, the last after step `steps`.
    public func validates(after step: Int, of steps: Int) -> Bool {
        let n = min(perEpoch, steps)
        return step * n / steps > (step - 1) * n / steps
    }

    /// The examples of one validation batch, `indices`, the last repeated up to `batch`: a
    /// validation's batches then have the training batch's shape, so the layers keep their
    /// buffers (a batch of another size reallocates them, there and again in the next training
    /// step, which is timed). Only the first `indices.count` outputs count.
    static func batch(_ indices: Range<Int>, paddedTo batch: Int) -> [Int] {
        Array(indices) + repeatElement(indices.upperBound - 1, count: max(0, batch - indices.count))
    }
}
