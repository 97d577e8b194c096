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
