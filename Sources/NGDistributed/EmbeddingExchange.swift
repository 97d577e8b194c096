import NGPlus

/// An embedding table's lookups as data-parallel training exchanges them: instead of the table's
/// vocabulary × width gradient in the all-reduce, every process's lookups and their output
/// gradients (scaled by its share of the batch) are all-gathered, in rank order — the whole
/// batch's lookups, in the single-process order — and every process takes the same sparse step
/// from them. What travels is in proportion to the batch's lookups, never the vocabulary.
struct EmbeddingExchange<Scalar: BLASScalar> {
    let vocabulary: Int
    let width: Int
    /// Lookups per batch row, fixed by the first submission (0 before it).
    var perRow = 0
    /// This process's lookups and output gradients (scaled), from `submit`.
    var localLookups: [Int64] = []
    var localRows = Matrix<Scalar>(rows: 0, columns: 0)
    /// The whole batch's, after `synchronize`.
    var lookups: [Int] = []
    var rows = Matrix<Scalar>(rows: 0, columns: 0)

    /// Takes this process's lookups and their output gradients, scaled by `weight`, all or
    /// nothing.
    /// - Throws: `invalidArgument` (a lookup outside the table, not a whole number of lookups per
    ///   row, another number than the earlier steps'), `shapeMismatch`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func submit(
        lookups: [Int], outputGradients: Matrix<Scalar>, localRowCount: Int, weight: Scalar, _ operation: NGError.Operation
    ) throws(NGError) {
        try outputGradients.requireShape(Shape(lookups.count, width), operation, "outputGradients")
        guard !lookups.isEmpty, lookups.count % localRowCount == 0 else {
            throw .invalidArgument(
                operation: operation, argument: "lookups",
                reason: "\(lookups.count) lookups are not a whole number for each of this process's \(localRowCount) rows")
        }
        let count = lookups.count / localRowCount
        guard perRow == 0 || count == perRow else {
            throw .invalidArgument(
                operation: operation, argument: "lookups",
                reason: "\(count) lookups a row, where earlier steps had \(perRow): every step's must match")
        }
        for r in 0..<lookups.count where lookups[r] < 0 || lookups[r] >= vocabulary {
            throw .invalidArgument(
                operation: operation, argument: "lookups",
                reason: "lookup \(r) reads row \(lookups[r]), outside the table's \(vocabulary) rows")
        }
        perRow = count
        if localLookups.count != lookups.count { localLookups = Array(repeating: 0, count: lookups.count) }
        for r in 0..<lookups.count { localLookups[r] = Int64(lookups[r]) }
        if localRows.shape != outputGradients.shape {
            localRows = Matrix(rows: outputGradients.rows, columns: width)
        }
        outputGradients.withUnsafeBufferPointer { source in
            localRows.withUnsafeMutableBufferPointer { target in
                pack(source, into: target, scaledBy: weight)
            }
        }
    }

    /// Makes the gathered buffers hold `total` lookups (once).
    mutating func reserve(total: Int) {
        if lookups.count != total { lookups = Array(repeating: 0, count: total) }
        if rows.rows != total { rows = Matrix(rows: total, columns: width) }
    }
}

extension DataParallel {
    /// The all-gathers of the embedding tables' lookups (one of indices, one of output-gradient
    /// values), when any table is registered: process r's block holds, table after table, its
    /// lookups, then every process unpacks every block in rank order.
    mutating func gatherEmbeddings() throws {
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
        unpackEmbeddings()
    }

    /// The two all-gathers, in place in the embedding buffers.
    mutating func allGatherEmbeddings(indexTotal: Int, valueTotal: Int) throws {
        let (communicator, counts, displacements, size) = (
            communicator, embeddingCounts, embeddingDisplacements, communicator.size)
        // Taken out while MPI writes them (no copy: the arrays move).
        var (indices, values): ([Int64], [Scalar]) = ([], [])
        swap(&indices, &embeddingIndices)
        swap(&values, &embeddingValues)
        defer {
            swap(&indices, &embeddingIndices)
            swap(&values, &embeddingValues)
        }
        try counts.withUnsafeBufferPointer { counts in
            try displacements.withUnsafeBufferPointer { displacements in
                try indices.withUnsafeMutableBufferPointer { buffer in
                    try communicator.allGather(
                        UnsafeMutableBufferPointer(rebasing: buffer[0..<indexTotal]),
                        counts: UnsafeBufferPointer(rebasing: counts[0..<size]),
                        displacements: UnsafeBufferPointer(rebasing: displacements[0..<size]))
                }
                try values.withUnsafeMutableBufferPointer { buffer in
                    try communicator.allGather(
                        UnsafeMutableBufferPointer(rebasing: buffer[0..<valueTotal]),
                        counts: UnsafeBufferPointer(rebasing: counts[size...]),
                        displacements: UnsafeBufferPointer(rebasing: displacements[size...]))
                }
            }
        }
    }

    /// Every process's block into each table's whole-batch lookups and rows, in rank order.
    mutating func unpackEmbeddings() {
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
