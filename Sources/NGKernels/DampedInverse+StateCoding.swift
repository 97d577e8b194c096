extension DampedInverse: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(method.rawValue)
        storedBlocks.encode(to: &writer)
        writer.write(reports.current != nil)
        reports.current?.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let saved = try reader.readString()
        guard saved == method.rawValue else { throw reader.fail("an inverse saved as \(saved), expected \(method.rawValue)") }
        try storedBlocks.restore(from: &reader)
        if method == .explicitInverse {
            // Files of state format 2 hold F, not F̂⁻¹, above the diagonal: complete the inverse.
            for b in storedBlocks.blocks.indices {
                storedBlocks.blocks[b].withMutableView { $0.mirrorLowerTriangle() }
            }
        }
        if try reader.readBool() {
            var report = DampingReport()
            try report.restore(from: &reader)
            guard report.usedShifts.count == storedBlocks.blockCount else {
                throw reader.fail("a damping report of \(report.usedShifts.count) blocks for \(storedBlocks.blockCount)")
            }
            reports.current = report
        } else {
            reports.current = nil
        }
    }
}
