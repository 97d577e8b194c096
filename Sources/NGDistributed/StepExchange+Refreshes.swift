import NGPlus

extension StepExchange {
    /// The refreshes due this step, each made by one process — its owner, chosen for balance
    /// (the largest refresh first, to the least loaded process) — which broadcasts it: every
    /// process first makes the refreshes it owns (so that refreshes of different layers run on
    /// different processes at the same time), then each process's records are broadcast from
    /// it, and the others adopt them. Each layer's slot keeps what its step is handed
    /// (`ExchangeSlot.preparedRefresh`). A refresh that fails on its owner travels as a flag:
    /// the owner throws its error, the others `peerFailed`, after every broadcast.
    mutating func shareRefreshes<Base: StatisticsSharing>(
        base: inout Base, slots: inout [ExchangeSlot<Scalar>]
    ) throws where Base.Scalar == Scalar {
        let (size, rank, communicator) = (communicator.size, communicator.rank, communicator)
        guard size > 1 else { return }
        refreshSchedule.plan(slotCount: slots.count, processes: size) { base.sharedRefresh(of: slots[$0].handle) }
        guard !refreshSchedule.isEmpty else { return }
        let schedule = refreshSchedule
        let (valueStart, figureStart, statusStart) = (schedule.valueStart, schedule.figureStart, schedule.statusStart)
        if refreshValues.count < valueStart[size] { refreshValues = Array(repeating: 0, count: valueStart[size]) }
        if refreshFigures.count < statusStart + size { refreshFigures = Array(repeating: 0, count: statusStart + size) }

        var ownFailure: (any Error)?
        var (refreshSeconds, sendingSeconds, broadcasts) = (0.0, 0.0, 0)
        let started = ContinuousClock.now
        try refreshValues.withUnsafeMutableBufferPointer { values in
            try refreshFigures.withUnsafeMutableBufferPointer { figures in
                figures[statusStart + rank] = 0
                var (v, f) = (valueStart[rank], figureStart[rank])
                for d in schedule.slots.indices where schedule.owners[d] == rank && ownFailure == nil {
                    let (slot, refresh) = (schedule.slots[d], schedule.refreshes[d])
                    var valueSpan = UnsafeMutableBufferPointer(rebasing: values[v..<v + refresh.values]).mutableSpan
                    var figureSpan = UnsafeMutableBufferPointer(rebasing: figures[f..<f + refresh.figures]).mutableSpan
                    do {
                        slots[slot].preparedRefresh = try base.makeSharedRefresh(
                            of: slots[slot].handle, values: &valueSpan, figures: &figureSpan)
                    } catch {
                        ownFailure = error
                        figures[statusStart + rank] = 1
                    }
                    (v, f) = (v + refresh.values, f + refresh.figures)
                }
                refreshSeconds = Self.seconds(since: started)
                let sending = ContinuousClock.now
                for root in 0..<size where figureStart[root + 1] > figureStart[root] {
                    try values.withSpan(valueStart[root]..<valueStart[root + 1]) {
                        try communicator.broadcast(&$0, root: root)
                    }
                    try figures.withSpan(figureStart[root]..<figureStart[root + 1]) {
                        try communicator.broadcast(&$0, root: root)
                    }
                    try figures.withSpan((statusStart + root)..<(statusStart + root + 1)) {
                        try communicator.broadcast(&$0, root: root)
                    }
                    broadcasts += 3
                }
                sendingSeconds = Self.seconds(since: sending)
                guard !(0..<size).contains(where: { figures[statusStart + $0] != 0 }) else { return }
                for root in 0..<size where root != rank {
                    (v, f) = (valueStart[root], figureStart[root])
                    for d in schedule.slots.indices where schedule.owners[d] == root {
                        let (slot, refresh) = (schedule.slots[d], schedule.refreshes[d])
                        slots[slot].preparedRefresh = try base.adoptSharedRefresh(
                            of: slots[slot].handle,
                            values: UnsafeBufferPointer(rebasing: values[v..<v + refresh.values]).span,
                            figures: UnsafeBufferPointer(rebasing: figures[f..<f + refresh.figures]).span)
                        (v, f) = (v + refresh.values, f + refresh.figures)
                    }
                }
            }
        }
        telemetry.refreshSeconds += refreshSeconds
        telemetry.communicationSeconds += sendingSeconds
        telemetry.collectives += broadcasts
        telemetry.broadcastValues += valueStart[rank + 1] - valueStart[rank]
        if let ownFailure { throw ownFailure }
        if refreshFigures[statusStart..<statusStart + size].contains(where: { $0 != 0 }) {
            let failed = (0..<size).filter { refreshFigures[statusStart + $0] != 0 }
            throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: failed)
        }
    }
}
