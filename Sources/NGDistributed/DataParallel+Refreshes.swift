import NGPlus

extension DataParallel {
    /// The refreshes due this step, each made by one process — its owner, chosen for balance
    /// (the largest refresh first, to the least loaded process) — which broadcasts it: every
    /// process first makes the refreshes it owns (so that refreshes of different layers run on
    /// different processes at the same time), then each process's records are broadcast from
    /// it, and the others adopt them. A refresh that fails on its owner travels as a flag: the
    /// owner throws its error, the others `peerFailed`, after every broadcast.
    mutating func shareRefreshes() throws {
        let (size, rank) = (communicator.size, communicator.rank)
        guard size > 1 else { return }
        var schedule = RefreshSchedule()
        swap(&schedule, &refreshSchedule)
        defer { swap(&schedule, &refreshSchedule) }
        schedule.plan(slotCount: slots.count, processes: size) { base.sharedRefresh(of: slots[$0].handle) }
        guard !schedule.isEmpty else { return }
        let (valueStart, figureStart, statusStart) = (schedule.valueStart, schedule.figureStart, schedule.statusStart)
        if refreshValues.count < valueStart[size] { refreshValues = Array(repeating: 0, count: valueStart[size]) }
        if refreshFigures.count < statusStart + size { refreshFigures = Array(repeating: 0, count: statusStart + size) }
        var values: [Scalar] = []
        var figures: [Double] = []
        swap(&values, &refreshValues)
        swap(&figures, &refreshFigures)
        defer {
            swap(&values, &refreshValues)
            swap(&figures, &refreshFigures)
        }

        var ownFailure: (any Error)?
        let started = ContinuousClock.now
        try values.withUnsafeMutableBufferPointer { values in
            try figures.withUnsafeMutableBufferPointer { figures in
                figures[statusStart + rank] = 0
                var (v, f) = (valueStart[rank], figureStart[rank])
                for d in schedule.slots.indices where schedule.owners[d] == rank && ownFailure == nil {
                    let refresh = schedule.refreshes[d]
                    do {
                        slots[schedule.slots[d]].preparedRefresh = try base.makeSharedRefresh(
                            of: slots[schedule.slots[d]].handle,
                            values: UnsafeMutableBufferPointer(rebasing: values[v..<v + refresh.values]),
                            figures: UnsafeMutableBufferPointer(rebasing: figures[f..<f + refresh.figures]))
                    } catch {
                        ownFailure = error
                        figures[statusStart + rank] = 1
                    }
                    (v, f) = (v + refresh.values, f + refresh.figures)
                }
                telemetry.refreshSeconds += Self.seconds(since: started)
                let sending = ContinuousClock.now
                for root in 0..<size where figureStart[root + 1] > figureStart[root] {
                    try communicator.broadcast(
                        UnsafeMutableBufferPointer(rebasing: values[valueStart[root]..<valueStart[root + 1]]), root: root)
                    try communicator.broadcast(
                        UnsafeMutableBufferPointer(rebasing: figures[figureStart[root]..<figureStart[root + 1]]), root: root)
                    try communicator.broadcast(
                        UnsafeMutableBufferPointer(rebasing: figures[(statusStart + root)..<(statusStart + root + 1)]),
                        root: root)
                    telemetry.collectives += 3
                }
                telemetry.communicationSeconds += Self.seconds(since: sending)
                telemetry.broadcastValues += valueStart[rank + 1] - valueStart[rank]
                guard !(0..<size).contains(where: { figures[statusStart + $0] != 0 }) else { return }
                for root in 0..<size where root != rank {
                    (v, f) = (valueStart[root], figureStart[root])
                    for d in schedule.slots.indices where schedule.owners[d] == root {
                        let refresh = schedule.refreshes[d]
                        slots[schedule.slots[d]].preparedRefresh = try base.adoptSharedRefresh(
                            of: slots[schedule.slots[d]].handle,
                            values: UnsafeBufferPointer(rebasing: values[v..<v + refresh.values]),
                            figures: UnsafeBufferPointer(rebasing: figures[f..<f + refresh.figures]))
                        (v, f) = (v + refresh.values, f + refresh.figures)
                    }
                }
            }
        }
        if let ownFailure { throw ownFailure }
        if (0..<size).contains(where: { figures[statusStart + $0] != 0 }) {
            let failed = (0..<size).filter { figures[statusStart + $0] != 0 }
            throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: failed)
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
