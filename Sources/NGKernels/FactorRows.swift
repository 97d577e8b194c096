/// The rows U of a low-rank factor `F = c·UᵀU` that a `WoodburyInverse` is refreshed from: a
/// buffer whose first `count` rows are in use, one row per sample. It grows (once) when a
/// larger batch arrives or a data-parallel run gathers every process's rows into it; steady
/// steps reuse it.
public struct FactorRows<Scalar: BLASScalar>: Sendable {
    /// The buffer; its first `count` rows are the factor.
    @usableFromInline var storage: Matrix<Scalar>
    /// The rows in use (0 before the first fill).
    @inlinable public var count: Int { rowsInUse }
    @usableFromInline var rowsInUse = 0

    /// An empty factor of `width` values a row, with room for `capacity` rows.
    public init(capacity: Int, width: Int) {
        storage = Matrix(rows: capacity, columns: width)
    }

    /// The values a row.
    @inlinable public var width: Int { storage.columns }

    /// The buffer: the factor in its first `count` rows (for `WoodburyInverse`, which takes
    /// a rank).
    @inlinable public var buffer: Matrix<Scalar> { storage }

    /// Calls `body` with the first `rows` rows for it to fill, which are in use from then on;
    /// the buffer grows when it has fewer (its values are not kept).
    @inlinable
    package mutating func fill<R>(rows: Int, _ body: (MutableMatrixView<Scalar>) -> R) -> R {
        if rows > storage.rows { storage = Matrix(rows: rows, columns: width) }
        rowsInUse = rows
        return storage.withMutableView { body($0.rows(0..<rows)) }
    }

    /// Whether the rows in use are finite.
    @inlinable
    package var isFinite: Bool { storage.withView { $0.rows(0..<count).isAllFinite } }

    /// Replaces the rows in use (at the top of a buffer of `totalRows × width` values) by
    /// `totalRows` rows that `body` writes there, in use from then on: a data-parallel run
    /// gathers every process's rows, each scaled by its share of the batch, into the factor of
    /// the whole batch. Grows the buffer once when it has fewer rows (the rows in use kept).
    /// - Precondition: `totalRows ≥ count`.
    @inlinable
    public mutating func withGathered<E: Error>(
        totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> Void
    ) throws(E) {
        precondition(totalRows >= count, "a gathered factor has at least the local rows")
        if totalRows > storage.rows {
            var larger = Matrix<Scalar>(rows: totalRows, columns: width)
            let local = count
            storage.withView { source in larger.withMutableView { $0.rows(0..<local).update(from: source.rows(0..<local)) } }
            storage = larger
        }
        let values = totalRows * width
        try storage.withUnsafeMutableBufferPointer { p throws(E) in try body(.init(rebasing: p[0..<values])) }
        rowsInUse = totalRows
    }
}

extension FactorRows: StateCodable {
    /// The rows in use and the buffer.
    public func encode(to writer: inout StateWriter) {
        writer.write(count)
        writer.write(storage)
    }

    /// The state of a factor nobody reads (a GFIM kept explicitly): no rows in use and an empty
    /// buffer, so that the bytes depend on the layer only — not on the batches seen, whose rows
    /// differ between the processes of a data-parallel run (and grow the buffer on some of
    /// them). `restore` reads it as any state and keeps its buffer.
    package func encodeWithoutRows(to writer: inout StateWriter) {
        writer.write(0)
        writer.write(Matrix<Scalar>(rows: 0, columns: width))
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let rows = try reader.readInt()
        let saved: Matrix<Scalar> = try reader.readMatrix(what: "factor rows")
        guard saved.columns == width, rows >= 0, rows <= saved.rows else {
            throw reader.fail("factor rows \(saved.shape) (\(rows) in use) do not fit width \(width)")
        }
        rowsInUse = rows
        if saved.rows > 0 { storage = saved }
    }
}
