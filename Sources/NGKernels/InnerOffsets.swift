/// Where a gathered product finds A(r, x) in A's row r: `x·stride` values in, or `table[x]`
/// values in — a convolution's patch rows, when A's rows are its output positions.
public enum InnerOffsets {
    case stride(Int)
    case table(UnsafePointer<Int>)

    /// A(r, x)'s offset from the start of row r.
    @inlinable
    public func offset(_ x: Int) -> Int {
        switch self {
        case let .stride(stride): x * stride
        case let .table(table): table[x]
        }
    }
}
