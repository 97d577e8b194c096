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
