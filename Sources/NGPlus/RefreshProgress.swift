/// What a preconditioned layer (NG+, K-FAC) keeps beside its curvature about its schedule:
/// the steps taken, the step it last observed, and what its staged step will commit.
struct RefreshProgress: Sendable {
    /// The steps the layer has taken.
    private(set) var step = 0
    /// The step for which statistics were last observed, or -1.
    private(set) var observedStep = -1
    /// What the refreshes went through, rung by rung (telemetry, not saved).
    private(set) var health = RefreshHealth()
    /// The slot the staged step applied and its refresh's outcome (nil: none was due).
    private var stagedSlot = InverseSlot.current
    private var stagedOutcome: RefreshOutcome?

    /// Notes that the coming step's statistics were observed.
    mutating func observed() {
        observedStep = step
    }

    /// Throws `missingStatistics` when the coming step is a statistics step without its
    /// observation.
    func requireStatistics(
        statisticsStep: Bool, index: Int, _ operation: NGError.Operation
    ) throws(OptimizerError) {
        if statisticsStep && observedStep != step {
            throw .missingStatistics(operation: operation, layer: index, step: step)
        }
    }

    /// Notes what the staged step applied, for `commitStep`.
    mutating func staged(_ slot: InverseSlot, _ outcome: RefreshOutcome?) {
        (stagedSlot, stagedOutcome) = (slot, outcome)
    }

    /// Counts the committed step and its refresh's outcome. Returns whether the step staged a
    /// refresh, which the caller commits.
    mutating func commitStep() -> Bool {
        if let stagedOutcome { health.record(stagedOutcome) }
        let refreshing = stagedSlot == .staged
        staged(.current, nil)
        step += 1
        return refreshing
    }

    /// A sparse step, staged and committed at once: its refresh's outcome counted, its
    /// statistics observed with it.
    mutating func commitSparseStep(outcome: RefreshOutcome?) {
        observedStep = step
        staged(.current, outcome)
        _ = commitStep()
    }

    func encode(to writer: inout StateWriter) {
        writer.write(step)
        writer.write(observedStep)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let savedStep = try reader.readInt()
        let savedObserved = try reader.readInt()
        guard savedStep >= 0, savedObserved >= -1, savedObserved <= savedStep else {
            throw reader.fail("impossible step counts \(savedStep), \(savedObserved)")
        }
        (step, observedStep) = (savedStep, savedObserved)
    }
}
