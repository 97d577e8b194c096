extension LinearGFIMBuilder: StateCodable {
    public func encode(to writer: inout StateWriter) { rows.encode(to: &writer) }

    /// The state of a builder whose factor nobody reads (a GFIM kept explicitly):
    /// `FactorRows.encodeWithoutRows`.
    package func encodeWithoutFactor(to writer: inout StateWriter) { rows.encodeWithoutRows(to: &writer) }

    public mutating func restore(from reader: inout StateReader) throws(NGError) { try rows.restore(from: &reader) }
}
