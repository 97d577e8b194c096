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
