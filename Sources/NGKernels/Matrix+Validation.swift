/// Argument checks shared by every validated entry point. Each throws the `NGError` that
/// names the operation and the argument, before anything is written.
extension Matrix {
    /// Throws `emptyMatrix` when the matrix has no elements.
    @inlinable
    public func requireNonEmpty(_ operation: String, _ argument: String) throws(NGError) {
        if isEmpty { throw .emptyMatrix(operation: operation, argument: argument, shape: shape) }
    }

    /// Throws `shapeMismatch` unless the matrix is `expected`.
    @inlinable
    public func requireShape(
        _ expected: Shape, _ operation: String, _ argument: String
    ) throws(NGError) {
        if shape != expected {
            throw .shapeMismatch(
                operation: operation, argument: argument, expected: expected, actual: shape)
        }
    }

    /// Throws `nonFinite` with the location of the first NaN or infinity.
    @inlinable
    public func requireFinite(_ operation: String, _ argument: String) throws(NGError) {
        if let index = firstNonFiniteIndex() {
            throw .nonFinite(
                operation: operation, argument: argument,
                row: index / columns, column: index % columns)
        }
    }

    /// The row-major index of the first NaN or infinity, or nil when every element is finite.
    ///
    /// The fast path sums `x − x` (0 for a finite x, NaN otherwise) in SIMD lanes, which
    /// are independent so the loop runs at memory speed; only a matrix that fails it is
    /// scanned element by element.
    @inlinable
    public func firstNonFiniteIndex() -> Int? {
        let allFinite = storage.withUnsafeBufferPointer { buffer -> Bool in
            var lanes = SIMD16<Scalar>()
            let whole = buffer.count / 16 * 16
            if whole > 0 {
                let raw = UnsafeRawPointer(buffer.baseAddress!)
                for offset in stride(from: 0, to: whole, by: 16) {
                    let v = raw.loadUnaligned(
                        fromByteOffset: offset * MemoryLayout<Scalar>.stride, as: SIMD16<Scalar>.self)
                    lanes += v - v
                }
            }
            var sum = lanes.sum()
            for i in whole..<buffer.count { sum += buffer[i] - buffer[i] }
            return sum == 0
        }
        if allFinite { return nil }
        return storage.firstIndex { !$0.isFinite }
    }

    /// The largest absolute value of an element (0 for an empty matrix; NaN is ignored).
    @inlinable
    public func maxAbsolute() -> Scalar {
        storage.withUnsafeBufferPointer { buffer in
            var lanes = SIMD16<Scalar>()
            let whole = buffer.count / 16 * 16
            if whole > 0 {
                let raw = UnsafeRawPointer(buffer.baseAddress!)
                for offset in stride(from: 0, to: whole, by: 16) {
                    let v = raw.loadUnaligned(
                        fromByteOffset: offset * MemoryLayout<Scalar>.stride, as: SIMD16<Scalar>.self)
                    lanes = pointwiseMax(lanes, pointwiseMax(v, -v))
                }
            }
            var largest = lanes.max()
            for i in whole..<buffer.count { largest = Swift.max(largest, Swift.abs(buffer[i])) }
            return largest
        }
    }
}
