extension LinearGFIMBuilder: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(rowsInUse)
        writer.write(scaled)
    }

    /// The state of a builder whose factor nobody reads (a GFIM kept explicitly): no rows in
    /// use and an empty workspace, so that the bytes depend on the layer only — not on the
    /// batches seen, whose rows differ between the processes of a data-parallel run (and grow
    /// the workspace on some of them). `restore` reads it as any state and keeps its workspace.
    package func encodeWithoutFactor(to writer: inout StateWriter) {
        writer.write(0)
        writer.write(Matrix<Scalar>(rows: 0, columns: scaled.columns))
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let rows = try reader.readInt()
        let saved: Matrix<Scalar> = try reader.readMatrix(what: "scaled rows")
        guard saved.columns == dimension, rows >= 0, rows <= saved.rows else {
            throw reader.fail("scaled rows \(saved.shape) (\(rows) in use) do not fit order \(dimension)")
        }
        rowsInUse = rows
        if saved.rows > 0 { scaled = saved }
    }
}
