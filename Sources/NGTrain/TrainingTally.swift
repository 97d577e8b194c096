import Foundation

/// A training loop's running figures: its steps, their training seconds (the steps alone: no
/// data loading, no validation) and the mean loss since the last validation.
struct TrainingTally {
    private(set) var steps = 0
    private(set) var seconds = 0.0
    private var lossSum = 0.0
    private var lossSteps = 0

    /// Runs one step, which returns its batch's mean loss, and times it.
    mutating func time(_ step: () throws -> Double) rethrows {
        let begin = DispatchTime.now().uptimeNanoseconds
        lossSum += try step()
        seconds += Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
        (steps, lossSteps) = (steps + 1, lossSteps + 1)
    }

    /// The mean loss of the steps since the last call, which starts the next mean.
    mutating func takeMeanLoss() -> Double {
        defer { (lossSum, lossSteps) = (0, 0) }
        return lossSum / Double(lossSteps)
    }
}
