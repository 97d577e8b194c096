import NGPlus

extension StepExchange {
    /// The one all-reduce: packs every layer's gradient and the statistics its step shares
    /// (each value × this process's share of the batch), the loss and one failure flag per
    /// process; sums them over the processes; checks every flag; unpacks. Returns the whole
    /// batch's mean loss.
    /// - Throws: `failure` (this process's), or `DistributedError.peerFailed` when another
    ///   process's flag is set, before anything is unpacked.
    mutating func reduce<Base: StatisticsSharing>(
        loss: Double, failure: (any Error)?, base: inout Base, slots: inout [ExchangeSlot<Scalar>]
    ) throws -> Double where Base.Scalar == Scalar {
        var count = 0
        for i in slots.indices {
            count += slots[i].gradient.rows * slots[i].gradient.columns
            count += base.sharedStatistics(of: slots[i].handle).summedCount
        }
        let (size, rank, communicator, weight) = (communicator.size, communicator.rank, communicator, shareWeight)
        let total = count + 1 + size
        if fused.count < total { fused = Array(repeating: 0, count: total) }
        var seconds = 0.0
        try fused.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            try Self.forEachShared(base: &base, slots: &slots) { values in
                values.withUnsafeBufferPointer { values in
                    pack(values, into: UnsafeMutableBufferPointer(rebasing: buffer[offset...]), scaledBy: weight)
                }
                offset += values.count
            }
            buffer[offset] = Scalar(loss) * weight
            for r in 0..<size { buffer[offset + 1 + r] = r == rank && failure != nil ? 1 : 0 }
            let started = ContinuousClock.now
            try buffer.withSpan(0..<total) { try communicator.allReduceSum(&$0) }
            seconds = Self.seconds(since: started)
        }
        telemetry.communicationSeconds += seconds
        telemetry.collectives += 1
        telemetry.allReduceValues += total
        if let failure { throw failure }
        if (0..<size).contains(where: { fused[count + 1 + $0] != 0 }) {
            let failed = (0..<size).filter { fused[count + 1 + $0] != 0 }
            throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: failed)
        }
        try fused.withUnsafeBufferPointer { buffer in
            var offset = 0
            try Self.forEachShared(base: &base, slots: &slots) { values in
                let count = values.count
                values.withUnsafeMutableBufferPointer { values in
                    copyValues(UnsafeBufferPointer(rebasing: buffer[offset..<offset + count]), into: values)
                }
                offset += count
            }
        }
        return Double(fused[count])
    }

    /// Visits, in the fused buffer's order, every layer's gradient and then its summed
    /// statistics when this step shares them.
    static func forEachShared<Base: StatisticsSharing>(
        base: inout Base, slots: inout [ExchangeSlot<Scalar>], _ body: (inout MutableSpan<Scalar>) -> Void
    ) throws where Base.Scalar == Scalar {
        for i in slots.indices {
            slots[i].gradient.withUnsafeMutableBufferPointer { $0.withMutableSpan(body) }
            if base.sharedStatistics(of: slots[i].handle).sums {
                try base.withSummedStatistics(of: slots[i].handle, body)
            }
        }
    }
}
