import NGPlus

extension StepExchange {
    /// The all-gather of the Woodbury layers' factor rows, when this step shares any: process
    /// r's block holds, layer after layer, its rows scaled by its share; every process then
    /// writes all blocks' rows into each factor in rank order.
    mutating func gatherFactorRows<Base: StatisticsSharing>(
        base: inout Base, slots: [ExchangeSlot<Scalar>]
    ) throws where Base.Scalar == Scalar {
        gatherWidths.removeAll(keepingCapacity: true)
        for i in slots.indices {
            let width = base.sharedStatistics(of: slots[i].handle).gatheredRowWidth
            if width > 0 { gatherWidths.append((i, width)) }
        }
        guard !gatherWidths.isEmpty else { return }
        let rowWidth = gatherWidths.reduce(0) { $0 + $1.width }
        var displacement = 0
        for r in shares.indices {
            gatherCounts[r] = Int32(shares[r] * rowWidth)
            gatherDisplacements[r] = Int32(displacement)
            displacement += shares[r] * rowWidth
        }
        if gathered.count < displacement { gathered = Array(repeating: 0, count: displacement) }
        let (weight, rank, local, total) = (shareWeight, communicator.rank, localRowCount, globalBatch)
        let (widths, shares, counts, displacements, communicator) = (
            gatherWidths, shares, gatherCounts, gatherDisplacements, communicator)
        var seconds = 0.0
        try gathered.withUnsafeMutableBufferPointer { buffer in
            var offset = Int(displacements[rank])
            for (slot, width) in widths {
                try base.withGatheredRows(of: slots[slot].handle, totalRows: local) { rows in
                    rows.withUnsafeBufferPointer { rows in
                        pack(
                            UnsafeBufferPointer(rebasing: rows[0..<local * width]),
                            into: UnsafeMutableBufferPointer(rebasing: buffer[offset...]), scaledBy: weight)
                    }
                }
                offset += local * width
            }
            let started = ContinuousClock.now
            try buffer.withSpan(0..<displacement) {
                try communicator.allGather(&$0, counts: counts.span, displacements: displacements.span)
            }
            seconds = Self.seconds(since: started)
            var columnOffset = 0
            for (slot, width) in widths {
                try base.withGatheredRows(of: slots[slot].handle, totalRows: total) { rows in
                    rows.withUnsafeMutableBufferPointer { rows in
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
                }
                columnOffset += width
            }
        }
        telemetry.communicationSeconds += seconds
        telemetry.gatherValues += Int(gatherCounts[rank])
        telemetry.collectives += 1
    }
}
