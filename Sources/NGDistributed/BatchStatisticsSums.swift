import NGPlus

/// `CrossProcessSums` over the processes of a `DataParallel`: one all-reduce a call. A failed
/// collective is kept for `DataParallel.synchronize` to report; the calls after it are still
/// made, so that every process makes the same number.
final class BatchStatisticsSums: CrossProcessSums {
    let communicator: Communicator
    let localShare: Double
    /// What `completeStep` sends: zeros of the reserved length.
    var zeros: [Double] = []
    var callsPerStep = 0
    var calls = 0
    /// The first failed collective since `synchronize` last took it.
    var failure: DistributedError?
    /// The calls, their seconds and values, for `DataParallel.telemetry`.
    var collectives = 0
    var seconds = 0.0
    var values = 0

    init(communicator: Communicator, localShare: Double) {
        self.communicator = communicator
        self.localShare = localShare
    }

    func reserve(length: Int, callsPerStep: Int) {
        zeros = [Double](repeating: 0, count: length)
        self.callsPerStep = callsPerStep
    }

    func sum(_ values: inout [Double]) {
        calls += 1
        collectives += 1
        self.values += values.count
        let start = ContinuousClock.now
        defer { seconds += StepExchange<Double>.seconds(since: start) }
        do {
            try communicator.allReduceSum(&values)
        } catch {
            if failure == nil { failure = error }
        }
    }

    func beginStep() { calls = 0 }

    func completeStep() {
        while calls < callsPerStep {
            for i in zeros.indices { zeros[i] = 0 }
            sum(&zeros)
        }
    }

    /// The failure kept since the last call, which it forgets.
    func takeFailure() -> DistributedError? {
        defer { failure = nil }
        return failure
    }
}
