/// A read-only strided view of row-major storage: `rows × columns` elements, row i starting
/// `i·leadingDimension` elements after `base`. Views are the package's one way to hand matrix
/// storage to BLAS and to the elementwise kernels: `Matrix.withView` and `withMutableView` are
/// where a matrix's pointer is taken, and a view's `rows(_:)` and `columns(_:)` are the only
/// pointer arithmetic its users need. Valid only inside the closure that made it.
@frozen @usableFromInline
package struct MatrixView<Scalar: BLASScalar> {
    @usableFromInline package let base: UnsafePointer<Scalar>
    @usableFromInline package let rows: Int
    @usableFromInline package let columns: Int
    @usableFromInline package let leadingDimension: Int

    @inlinable
    package init(base: UnsafePointer<Scalar>, rows: Int, columns: Int, leadingDimension: Int) {
        precondition(rows >= 0 && columns >= 0 && leadingDimension >= Swift.max(columns, 1) || rows <= 1)
        self.base = base
        self.rows = rows
        self.columns = columns
        self.leadingDimension = leadingDimension
    }

    /// Rows `range` of this view.
    @inlinable
    package func rows(_ range: Range<Int>) -> MatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows out of the view")
        return MatrixView(
            base: base + range.lowerBound * leadingDimension, rows: range.count, columns: columns,
            leadingDimension: leadingDimension)
    }

    /// Columns `range` of this view (same leading dimension).
    @inlinable
    package func columns(_ range: Range<Int>) -> MatrixView {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns, "columns out of the view")
        return MatrixView(
            base: base + range.lowerBound, rows: rows, columns: range.count, leadingDimension: leadingDimension)
    }

    /// The number of elements a contiguous view spans.
    @inlinable package var count: Int { rows * columns }

    /// Whether row i follows row i − 1 directly, so that the view is one run of `count` values.
    @inlinable package var isContiguous: Bool { leadingDimension == columns || rows <= 1 }

    /// The element at `row`, `column`.
    @inlinable
    package subscript(row: Int, column: Int) -> Scalar {
        precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index out of the view")
        return base[row * leadingDimension + column]
    }

    /// True when no element is a NaN or an infinity (row by row unless contiguous).
    @inlinable
    package var isAllFinite: Bool {
        if isContiguous { return count == 0 || Scalar.allFinite(base, count: count) }
        for i in 0..<rows where !Scalar.allFinite(base + i * leadingDimension, count: columns) { return false }
        return true
    }

    /// A contiguous view read as `rows × columns` (the same number of values, row-major).
    @inlinable
    package func reshaped(rows: Int, columns: Int) -> MatrixView {
        precondition(isContiguous && rows * columns == count, "only a contiguous view of as many values reshapes")
        return MatrixView(base: base, rows: rows, columns: columns, leadingDimension: Swift.max(columns, 1))
    }

    /// A contiguous view as one row of `count` values.
    @inlinable
    package var flattened: MatrixView {
        precondition(isContiguous, "only a contiguous view flattens")
        return MatrixView(base: base, rows: 1, columns: count, leadingDimension: Swift.max(count, 1))
    }
}

/// A mutable strided view; see `MatrixView`. It is a read-only view whose storage the caller
/// owns mutably (`Matrix.withMutableView`).
@frozen @usableFromInline
package struct MutableMatrixView<Scalar: BLASScalar> {
    /// The same storage, read-only.
    @usableFromInline package let readOnly: MatrixView<Scalar>

    @inlinable
    package init(base: UnsafeMutablePointer<Scalar>, rows: Int, columns: Int, leadingDimension: Int) {
        readOnly = MatrixView(base: UnsafePointer(base), rows: rows, columns: columns, leadingDimension: leadingDimension)
    }

    @inlinable package var base: UnsafeMutablePointer<Scalar> { UnsafeMutablePointer(mutating: readOnly.base) }
    @inlinable package var rows: Int { readOnly.rows }
    @inlinable package var columns: Int { readOnly.columns }
    @inlinable package var leadingDimension: Int { readOnly.leadingDimension }

    /// The same part of the same storage as `view`, writable: `view` was made from this one.
    @inlinable
    init(writable view: MatrixView<Scalar>) {
        readOnly = view
    }

    /// Rows `range` of this view.
    @inlinable
    package func rows(_ range: Range<Int>) -> MutableMatrixView { MutableMatrixView(writable: readOnly.rows(range)) }

    /// Columns `range` of this view (same leading dimension).
    @inlinable
    package func columns(_ range: Range<Int>) -> MutableMatrixView {
        MutableMatrixView(writable: readOnly.columns(range))
    }

    @inlinable package var count: Int { rows * columns }

    @inlinable package var isContiguous: Bool { readOnly.isContiguous }

    /// A contiguous view as one row of `count` values.
    @inlinable
    package var flattened: MutableMatrixView { MutableMatrixView(writable: readOnly.flattened) }

    /// A contiguous view read as `rows × columns` (see `MatrixView.reshaped`).
    @inlinable
    package func reshaped(rows: Int, columns: Int) -> MutableMatrixView {
        MutableMatrixView(writable: readOnly.reshaped(rows: rows, columns: columns))
    }

    /// Sets every element to `value`.
    @inlinable
    package func fill(with value: Scalar) {
        if isContiguous {
            base.update(repeating: value, count: count)
            return
        }
        for i in 0..<rows { (base + i * leadingDimension).update(repeating: value, count: columns) }
    }

    /// Sets every element to +0 by writing zero bytes (a `memset` a row, or one for a contiguous
    /// view): unlike `fill(with: 0)` it stays a byte loop when called unspecialized, where a
    /// typed fill would copy each value through the type's witness table.
    @inlinable
    package func zero() {
        let rowBytes = columns * MemoryLayout<Scalar>.stride
        if isContiguous {
            UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0, count: rows * rowBytes)
            return
        }
        for i in 0..<rows {
            UnsafeMutableRawPointer(base + i * leadingDimension).initializeMemory(as: UInt8.self, repeating: 0, count: rowBytes)
        }
    }

    /// Copies a view of the same shape into this one, row by row (one copy when both are
    /// contiguous).
    @inlinable
    package func update(from source: MatrixView<Scalar>) {
        precondition(source.rows == rows && source.columns == columns, "views of different shapes")
        if isContiguous && source.isContiguous {
            base.update(from: source.base, count: count)
            return
        }
        for i in 0..<rows {
            (base + i * leadingDimension).update(from: source.base + i * source.leadingDimension, count: columns)
        }
    }
}

extension MatrixView {
    /// `buffer` as a `rows × columns` view (`rows · columns` values, row-major).
    @inlinable
    package init(_ buffer: UnsafeBufferPointer<Scalar>, rows: Int, columns: Int) {
        precondition(rows * columns == buffer.count, "a view of as many values as the buffer holds")
        // An empty buffer has no storage: any aligned address does, nothing is read.
        let base = buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Scalar>.alignment)!
        self.init(base: base, rows: rows, columns: columns, leadingDimension: Swift.max(columns, 1))
    }
}

extension Matrix {
    /// Calls `body` with a view of the whole matrix (leading dimension `columns`).
    @inlinable
    package func withView<R, E: Error>(_ body: (MatrixView<Scalar>) throws(E) -> R) throws(E) -> R {
        let (rows, columns) = (self.rows, self.columns)
        return try storage.withUnsafeBufferPointer { buffer throws(E) in
            try body(MatrixView(buffer, rows: rows, columns: columns))
        }
    }

    /// Calls `body` with a mutable view of the whole matrix, its storage uniquely owned.
    @inlinable
    package mutating func withMutableView<R, E: Error>(_ body: (MutableMatrixView<Scalar>) throws(E) -> R) throws(E) -> R {
        let (rows, columns) = (self.rows, self.columns)
        return try storage.withUnsafeMutableBufferPointer { buffer throws(E) in
            let base = buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Scalar>.alignment)!
            return try body(MutableMatrixView(
                base: base, rows: rows, columns: columns, leadingDimension: Swift.max(columns, 1)))
        }
    }
}

/// Calls `body` with views of two matrices read and one written: the nesting of most kernels,
/// in one place.
@inlinable
package func withViews<Scalar: BLASScalar, R, E: Error>(
    _ a: Matrix<Scalar>, _ b: Matrix<Scalar>, mutating c: inout Matrix<Scalar>,
    _ body: (MatrixView<Scalar>, MatrixView<Scalar>, MutableMatrixView<Scalar>) throws(E) -> R
) throws(E) -> R {
    try a.withView { (av) throws(E) in
        try b.withView { (bv) throws(E) in
            try c.withMutableView { (cv) throws(E) in try body(av, bv, cv) }
        }
    }
}
