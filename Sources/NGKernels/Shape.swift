/// The shape of a matrix, `rows × columns`.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    public var rows: Int
    public var columns: Int

    public init(_ rows: Int, _ columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    public var description: String { "\(rows)×\(columns)" }
}
