extension BlockDiagonalMatrix: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(dimension)
        writer.write(blockSize)
        for block in blocks { writer.write(block) }
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let order = try reader.readInt()
        let size = try reader.readInt()
        guard order == dimension, size == blockSize else {
            throw reader.fail("a GFIM of order \(order) in blocks of \(size), expected \(dimension) in blocks of \(blockSize)")
        }
        for b in blocks.indices { try reader.read(into: &blocks[b], what: "GFIM block \(b)") }
    }
}

extension DampingReport: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(requestedShifts.count)
        for (requested, (used, retries)) in zip(requestedShifts, zip(usedShifts, retries)) {
            writer.write(requested)
            writer.write(used)
            writer.write(retries)
        }
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let count = try reader.readInt()
        guard count >= 0, count <= 1 << 20 else { throw reader.fail("a damping report of \(count) blocks") }
        self = DampingReport()
        for _ in 0..<count {
            requestedShifts.append(try reader.readDouble())
            usedShifts.append(try reader.readDouble())
            retries.append(try reader.readInt())
        }
    }
}

extension DampedInverse: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(method.rawValue)
        storedBlocks.encode(to: &writer)
        writer.write(lastReport != nil)
        lastReport?.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let saved = try reader.readString()
        guard saved == method.rawValue else { throw reader.fail("an inverse saved as \(saved), expected \(method.rawValue)") }
        try storedBlocks.restore(from: &reader)
        if method == .explicitInverse {
            // Files of state format 2 hold F, not F̂⁻¹, above the diagonal: complete the inverse.
            for b in storedBlocks.blocks.indices {
                let order = storedBlocks.blocks[b].rows
                storedBlocks.blocks[b].withUnsafeMutableBufferPointer { mirrorLowerTriangle($0.baseAddress!, n: order, ld: order) }
            }
        }
        if try reader.readBool() {
            var report = DampingReport()
            try report.restore(from: &reader)
            guard report.usedShifts.count == storedBlocks.blockCount else {
                throw reader.fail("a damping report of \(report.usedShifts.count) blocks for \(storedBlocks.blockCount)")
            }
            lastReport = report
        } else {
            lastReport = nil
        }
    }
}

extension WoodburyInverse: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(currentRank)
        writer.write(factors)
        writer.write(solvedFactors)
        writer.write(Double(scale))
        writer.write(Double(shift))
        writer.write(lastReport != nil)
        lastReport?.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let rank = try reader.readInt()
        let savedFactors: Matrix<Scalar> = try reader.readMatrix(what: "Woodbury factors")
        let savedSolved: Matrix<Scalar> = try reader.readMatrix(what: "Woodbury solved factors")
        guard rank >= 0, savedFactors.shape == Shape(rank, dimension), savedSolved.shape == savedFactors.shape else {
            throw reader.fail("Woodbury state of rank \(rank) does not fit order \(dimension)")
        }
        let savedScale = try reader.readDouble()
        let savedShift = try reader.readDouble()
        var report: DampingReport?
        if try reader.readBool() {
            var restored = DampingReport()
            try restored.restore(from: &reader)
            report = restored
        }
        currentRank = rank
        factors = savedFactors
        solvedFactors = savedSolved
        scratch = Matrix(rows: rank, columns: rank)
        scale = Scalar(savedScale)
        shift = Scalar(savedShift)
        lastReport = report
    }
}

extension LinearGFIMBuilder: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(rowsInUse)
        writer.write(scaled)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let rows = try reader.readInt()
        let saved: Matrix<Scalar> = try reader.readMatrix(what: "scaled rows")
        guard saved.columns == dimension, rows >= 0, rows <= saved.rows else {
            throw reader.fail("scaled rows \(saved.shape) (\(rows) in use) do not fit order \(dimension)")
        }
        rowsInUse = rows
        scaled = saved
    }
}
