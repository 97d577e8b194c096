import NGPlus

/// The parts of `synchronize`: failures recorded, the layout checked once, the fused
/// all-reduce of gradients, statistics, the loss and failure flags, and the gathered factor rows.
extension DataParallel {
    /// Runs `body`, keeping its first error for `synchronize` to report to the other processes.
    mutating func recordingFailure(_ body: (inout Self) throws -> Void) throws {
        do {
            try body(&self)
        } catch {
            if failure == nil { failure = error }
            throw error
        }
    }

    /// The slot of `layer`: every layer is registered through this wrapper, so the base's
    /// handle indices are the slots' (no search, no generic iteration on the step path).
    func index(of layer: LayerHandle, _ operation: NGError.Operation) throws(OptimizerError) -> Int {
        guard slots.indices.contains(layer.index), slots[layer.index].handle == layer else {
            throw .unknownLayer(operation: operation, layer: layer.index)
        }
        return layer.index
    }

    func requireLocalRows(_ inputs: Matrix<Scalar>, _ operation: NGError.Operation, _ argument: String) throws(NGError) {
        guard inputs.rows == localRows.count else {
            throw .shapeMismatch(
                operation: operation, argument: "\(argument) (this process's rows of the batch)",
                expected: Shape(localRows.count, inputs.columns), actual: inputs.shape)
        }
    }

    /// Once after registration (at the first step no process failed): every process has the
    /// same layers and batch, so that every collective has the same layout everywhere. A
    /// process whose step failed before (its tables' lookups then unknown) says so in the same
    /// collective: it throws its error, the others `peerFailed`, not a mismatch.
    mutating func checkLayout() throws {
        let parameters = slots.reduce(0) { $0 + $1.spec.parameterShape.rows * $1.spec.parameterShape.columns }
        // The tables' lookups a row, weighted by position: a checksum of the gathers' layout.
        let lookups = slots.indices.reduce(0) { $0 + ($1 + 1) * (slots[$1].embedding?.perRow ?? 0) }
        let local: [Int64] = [Int64(slots.count), Int64(parameters), Int64(globalBatch), Int64(lookups)]
        let (size, rank, failed) = (communicator.size, communicator.rank, failure != nil)
        var values = local + local.map { -$0 } + (0..<size).map { $0 == rank && failed ? 1 : 0 }
        try communicator.allReduceMax(&values)
        let differs = { (k: Int) in values[k] != -values[local.count + k] }
        // The layers and the batch first (a process with a layer more also lacks its gradient),
        // then failures, then the lookups (unknown on a process that failed before submitting).
        if (0..<3).contains(where: differs) {
            throw DistributedError.mismatch(
                operation: .dataParallelSynchronize, what: "the layers registered (count, parameters) or the batch")
        }
        if let failure { throw failure }
        let ranks = (0..<size).filter { values[2 * local.count + $0] != 0 }
        if !ranks.isEmpty { throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: ranks) }
        if differs(3) {
            throw DistributedError.mismatch(operation: .dataParallelSynchronize, what: "the embedding tables' lookups a row")
        }
        layoutChecked = true
    }

    /// A failure for this step when a layer came without its gradient or its statistics.
    mutating func checkRound(_ operation: NGError.Operation) {
        guard failure == nil else { return }
        for i in slots.indices {
            let slot = slots[i]
            if !slot.submitted {
                failure = NGError.invalidArgument(
                    operation: operation, argument: "layer", reason: "layer \(i) has no gradient submitted this step")
                return
            }
            if base.sharedStatistics(of: slot.handle) != .none && !slot.observed {
                failure = OptimizerError.missingStatistics(operation: operation, layer: i, step: telemetry.steps)
                return
            }
        }
    }

    /// The one all-reduce: packs (weighted by this process's share), sums, checks every
    /// process's flag, unpacks. Returns the whole batch's mean loss.
    mutating func reduce(loss: Double) throws -> Double {
        var count = 0
        for i in slots.indices {
            count += slots[i].gradient.rows * slots[i].gradient.columns
            if case let .summed(values) = base.sharedStatistics(of: slots[i].handle) { count += values }
        }
        let total = count + 1 + communicator.size
        if fused.count < total { fused = Array(repeating: 0, count: total) }
        let (weight, rank, failed) = (shareWeight, communicator.rank, failure != nil)
        // Taken out while the layers' buffers are visited (no copy: the array moves).
        var fused: [Scalar] = []
        swap(&fused, &self.fused)
        defer { swap(&fused, &self.fused) }
        try fused.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            try forEachShared { values in
                pack(UnsafeBufferPointer(values), into: UnsafeMutableBufferPointer(rebasing: buffer[offset...]), scaledBy: weight)
                offset += values.count
            }
            buffer[offset] = Scalar(loss) * weight
            for r in 0..<communicator.size { buffer[offset + 1 + r] = r == rank && failed ? 1 : 0 }
            let started = ContinuousClock.now
            try communicator.allReduceSum(UnsafeMutableBufferPointer(rebasing: buffer[0..<total]))
            telemetry.communicationSeconds += Self.seconds(since: started)
            telemetry.collectives += 1
        }
        telemetry.allReduceValues += total
        if let failure { throw failure }
        if (0..<communicator.size).contains(where: { fused[count + 1 + $0] != 0 }) {
            let failedRanks = (0..<communicator.size).filter { fused[count + 1 + $0] != 0 }
            throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: failedRanks)
        }
        try fused.withUnsafeBufferPointer { buffer in
            var offset = 0
            try forEachShared { values in
                copyValues(UnsafeBufferPointer(rebasing: buffer[offset..<offset + values.count]), into: values)
                offset += values.count
            }
        }
        return Double(fused[count])
    }

    /// Visits, in the fused buffer's order, every layer's gradient and then its summed
    /// statistics when this step shares them.
    mutating func forEachShared(_ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) throws {
        for i in slots.indices {
            slots[i].gradient.withUnsafeMutableBufferPointer(body)
            if case .summed = base.sharedStatistics(of: slots[i].handle) {
                try base.withSummedStatistics(of: slots[i].handle, body)
            }
        }
    }

    /// The all-gather of the Woodbury layers' factor rows, when this step shares any: process
    /// r's block holds, layer after layer, its rows scaled by its share; every process then
    /// writes all blocks' rows into each factor in rank order.
    mutating func gatherFactorRows() throws {
        guard slots.indices.contains(where: {
            if case .gatheredRows = base.sharedStatistics(of: slots[$0].handle) { return true }
            return false
        }) else { return }
        var widths: [(slot: Int, width: Int)] = []
        swap(&widths, &gatherWidths)
        defer { swap(&widths, &gatherWidths) }
        widths.removeAll(keepingCapacity: true)
        for i in slots.indices {
            if case let .gatheredRows(width) = base.sharedStatistics(of: slots[i].handle) { widths.append((i, width)) }
        }
        let rowWidth = widths.reduce(0) { $0 + $1.width }
        var displacement = 0
        for r in shares.indices {
            gatherCounts[r] = Int32(shares[r] * rowWidth)
            gatherDisplacements[r] = Int32(displacement)
            displacement += shares[r] * rowWidth
        }
        if gathered.count < displacement { gathered = Array(repeating: 0, count: displacement) }
        let (weight, rank, local) = (shareWeight, communicator.rank, localRows.count)
        var gathered: [Scalar] = []
        swap(&gathered, &self.gathered)
        defer { swap(&gathered, &self.gathered) }
        try gathered.withUnsafeMutableBufferPointer { buffer in
            var offset = Int(gatherDisplacements[rank])
            for (slot, width) in widths {
                try base.withGatheredRows(of: slots[slot].handle, totalRows: local) { rows in
                    pack(
                        UnsafeBufferPointer(rebasing: rows[0..<local * width]),
                        into: UnsafeMutableBufferPointer(rebasing: buffer[offset...]), scaledBy: weight)
                }
                offset += local * width
            }
        }
        let started = ContinuousClock.now
        defer {
            telemetry.communicationSeconds += Self.seconds(since: started)
            telemetry.gatherValues += Int(gatherCounts[rank])
            telemetry.collectives += 1
        }
        try gathered.withUnsafeMutableBufferPointer { buffer in
            try gatherCounts.withUnsafeBufferPointer { counts in
                try gatherDisplacements.withUnsafeBufferPointer { displacements in
                    try communicator.allGather(
                        UnsafeMutableBufferPointer(rebasing: buffer[0..<displacement]), counts: counts,
                        displacements: displacements)
                }
            }
        }
        let (shares, displacements, total) = (shares, gatherDisplacements, globalBatch)
        try gathered.withUnsafeBufferPointer { buffer in
            var columnOffset = 0
            for (slot, width) in widths {
                try base.withGatheredRows(of: slots[slot].handle, totalRows: total) { rows in
                    var row = 0
                    for r in shares.indices {
                        let source = Int(displacements[r]) + shares[r] * columnOffset
                        let count = shares[r] * width
                        copyValues(
                            UnsafeBufferPointer(rebasing: buffer[source..<source + count]),
                            into: UnsafeMutableBufferPointer(rebasing: rows[(row * width)...]))
                        row += shares[r]
                    }
                }
                columnOffset += width
            }
        }
    }
}
