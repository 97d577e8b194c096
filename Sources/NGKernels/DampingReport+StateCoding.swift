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
        var report = DampingReport()
        for _ in 0..<count {
            let (requested, used, retries) = (try reader.readDouble(), try reader.readDouble(), try reader.readInt())
            report.append(requestedShift: requested, usedShift: used, retries: retries)
        }
        self = report
    }
}
