import NGPlus

extension StepExchange {
    /// The all-gathers of the embedding tables' lookups (one of indices, one of output-gradient
    /// values), when any table is registered: process r's block holds, table after table, its
    /// lookups, then every process unpacks every block in rank order.
    mutating func gatherEmbeddings(slots: inout [ExchangeSlot<Scalar>]) throws {
        guard slots.indices.contains(where: { slots[$0].embedding != nil }) else { return }
        let size = communicator.size
        if embeddingCounts.count != 2 * size {
            embeddingCounts = Array(repeating: 0, count: 2 * size)
            embeddingDisplacements = Array(repeating: 0, count: 2 * size)
        }
        // Lookups and values a batch row contributes, over every table.
        var (indicesPerRow, valuesPerRow) = (0, 0)
        for i in slots.indices {
            guard let exchange = slots[i].embedding else { continue }
            indicesPerRow += exchange.perRow
            valuesPerRow += exchange.perRow * exchange.width
        }
        var (indexTotal, valueTotal) = (0, 0)
        for r in 0..<size {
            embeddingCounts[r] = Int32(shares[r] * indicesPerRow)
            embeddingDisplacements[r] = Int32(indexTotal)
            embeddingCounts[size + r] = Int32(shares[r] * valuesPerRow)
            embeddingDisplacements[size + r] = Int32(valueTotal)
            indexTotal += shares[r] * indicesPerRow
            valueTotal += shares[r] * valuesPerRow
        }
        if embeddingIndices.count < indexTotal { embeddingIndices = Array(repeating: 0, count: indexTotal) }
        if embeddingValues.count < valueTotal { embeddingValues = Array(repeating: 0, count: valueTotal) }
        let rank = communicator.rank
        var (index, value) = (Int(embeddingDisplacements[rank]), Int(embeddingDisplacements[size + rank]))
        for i in slots.indices {
            guard let exchange = slots[i].embedding else { continue }
            for r in 0..<exchange.localLookups.count { embeddingIndices[index + r] = exchange.localLookups[r] }
            index += exchange.localLookups.count
            embeddingValues.withUnsafeMutableBufferPointer { target in
                exchange.localRows.withUnsafeBufferPointer { source in
                    copyValues(source, into: UnsafeMutableBufferPointer(rebasing: target[value...]))
                }
            }
            value += exchange.localRows.rows * exchange.width
        }
        let started = ContinuousClock.now
        try allGatherEmbeddings(indexTotal: indexTotal, valueTotal: valueTotal)
        telemetry.communicationSeconds += Self.seconds(since: started)
        telemetry.collectives += 2
        telemetry.gatherValues += Int(embeddingCounts[rank] + embeddingCounts[size + rank])
        unpackEmbeddings(into: &slots)
    }

    /// The two all-gathers, in place in the embedding buffers.
    mutating func allGatherEmbeddings(indexTotal: Int, valueTotal: Int) throws {
        let (communicator, counts, displacements, size) = (
            communicator, embeddingCounts, embeddingDisplacements, communicator.size)
        try embeddingIndices.withUnsafeMutableBufferPointer { buffer in
            try buffer.withSpan(0..<indexTotal) {
                try communicator.allGather(
                    &$0, counts: counts.span.extracting(0..<size), displacements: displacements.span.extracting(0..<size))
            }
        }
        try embeddingValues.withUnsafeMutableBufferPointer { buffer in
            try buffer.withSpan(0..<valueTotal) {
                try communicator.allGather(
                    &$0, counts: counts.span.extracting(size...), displacements: displacements.span.extracting(size...))
            }
        }
    }

    /// Every process's block into each table's whole-batch lookups and rows, in rank order.
    func unpackEmbeddings(into slots: inout [ExchangeSlot<Scalar>]) {
        let size = communicator.size
        var (indexOffset, valueOffset) = (0, 0)
        for i in slots.indices {
            guard var exchange = slots[i].embedding else { continue }
            slots[i].embedding = nil
            exchange.reserve(total: exchange.perRow * globalBatch)
            var row = 0
            for r in 0..<size {
                let count = exchange.perRow * shares[r]
                let index = Int(embeddingDisplacements[r]) + shares[r] * indexOffset
                for k in 0..<count { exchange.lookups[row + k] = Int(embeddingIndices[index + k]) }
                let value = Int(embeddingDisplacements[size + r]) + shares[r] * valueOffset
                let width = exchange.width
                embeddingValues.withUnsafeBufferPointer { source in
                    exchange.rows.withUnsafeMutableBufferPointer { target in
                        copyValues(
                            UnsafeBufferPointer(rebasing: source[value..<value + count * width]),
                            into: UnsafeMutableBufferPointer(rebasing: target[(row * width)...]))
                    }
                }
                row += count
            }
            indexOffset += exchange.perRow
            valueOffset += exchange.perRow * exchange.width
            slots[i].embedding = exchange
        }
    }
}
