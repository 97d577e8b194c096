/// Argument checks shared by every validated entry point. Each throws the `NGError` that
/// names the operation and the argument, before anything is written.
extension Matrix {
    /// Throws `emptyMatrix` when the matrix has no elements.
    @inlinable
    public func requireNonEmpty(_ operation: NGError.Operation, _ argument: String) throws(NGError) {
        if isEmpty { throw .emptyMatrix(operation: operation, argument: argument, shape: shape) }
    }

    /// Throws `shapeMismatch` unless the matrix is `expected`.
    @inlinable
    public func requireShape(
        _ expected: Shape, _ operation: NGError.Operation, _ argument: String
    ) throws(NGError) {
        if shape != expected {
            throw .shapeMismatch(
                operation: operation, argument: argument, expected: expected, actual: shape)
        }
    }

    /// Throws `nonFinite` with the location of the first NaN or infinity.
    @inlinable
    public func requireFinite(_ operation: NGError.Operation, _ argument: String) throws(NGError) {
        if let index = firstNonFiniteIndex() {
            throw .nonFinite(
                operation: operation, argument: argument,
                row: index / columns, column: index % columns)
        }
    }

    /// The row-major index of the first NaN or infinity, or nil when every element is finite.
    /// The fast check (`BLASScalar.allFinite`) runs at memory speed; only a matrix that fails
    /// it is scanned element by element.
    @inlinable
    public func firstNonFiniteIndex() -> Int? {
        let allFinite = withView { $0.isAllFinite }
        if allFinite { return nil }
        return storage.firstIndex { !$0.isFinite }
    }

    /// The largest absolute value of an element (0 for an empty matrix; NaN is ignored).
    @inlinable
    public func maxAbsolute() -> Scalar {
        withView { $0.count == 0 ? 0 : Scalar.maxAbsolute($0.base, count: $0.count) }
    }
}
