/// A dense matrix of `rows × columns` scalars.
///
/// Storage is **row-major and contiguous**: element (i, j) sits at `i·columns + j`, and the
/// leading dimension passed to BLAS is `columns`. `Matrix` has value semantics with
/// copy-on-write (the storage is a Swift array): mutating a matrix that shares storage copies
/// it once; a uniquely held matrix is mutated in place, so passing one `inout` to a kernel
/// neither copies nor allocates.
///
/// Each dimension must fit in `Int32`, the index type of BLAS and LAPACK.
public struct Matrix<Scalar: BLASScalar>: Equatable, Sendable {
    /// The number of rows.
    public let rows: Int
    /// The number of columns (also the leading dimension).
    public let columns: Int
    @usableFromInline var storage: [Scalar]

    /// A `rows × columns` matrix with every element equal to `value`.
    /// - Precondition: both dimensions are in `0...Int32.max`.
    @inlinable
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative")
        precondition(rows <= Int(Int32.max) && columns <= Int(Int32.max),
                     "Matrix dimensions must fit in Int32")
        self.rows = rows
        self.columns = columns
        guard value.storageBits == 0 else {
            storage = Array(repeating: value, count: rows * columns)
            return
        }
        // +0 is the all-zero bit pattern: one memset, where `Array(repeating:)` in code that is
        // not specialized (a layer's buffers) copies the value through its witness, one by one.
        let count = rows * columns
        // No storage for no values: `Array(unsafeUninitializedCapacity: 0)` writes its count
        // into the shared empty array, a data race between threads (ThreadSanitizer saw it).
        guard count > 0 else {
            storage = []
            return
        }
        storage = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress {
                UnsafeMutableRawPointer(base).initializeMemory(
                    as: UInt8.self, repeating: 0, count: count * MemoryLayout<Scalar>.stride)
            }
            initialized = count
        }
    }

    /// A matrix over `elements` in row-major order.
    /// - Throws: `NGError.invalidArgument` when the count is not `rows · columns` or a
    ///   dimension is negative or does not fit in `Int32`.
    public init(rows: Int, columns: Int, elements: [Scalar]) throws(NGError) {
        try NGError.Operation.matrixInit.require(
            rows >= 0 && columns >= 0 && rows <= Int(Int32.max) && columns <= Int(Int32.max), "shape",
            "\(rows)×\(columns) has a negative dimension or one beyond Int32.max")
        try NGError.Operation.matrixInit.require(
            elements.count == rows * columns, "elements",
            "has \(elements.count) values, a \(rows)×\(columns) matrix needs \(rows * columns)")
        self.rows = rows
        self.columns = columns
        self.storage = elements
    }

    /// A matrix whose element (i, j) is `element(i, j)`.
    @inlinable
    public init(rows: Int, columns: Int, element: (_ row: Int, _ column: Int) -> Scalar) {
        self.init(rows: rows, columns: columns)
        for i in 0..<rows {
            for j in 0..<columns { storage[i * columns + j] = element(i, j) }
        }
    }

    /// The `n × n` identity.
    @inlinable
    public static func identity(_ n: Int) -> Matrix {
        Matrix(rows: n, columns: n) { i, j in i == j ? 1 : 0 }
    }

    /// The shape `rows × columns`.
    @inlinable public var shape: Shape { Shape(rows, columns) }

    /// True when the matrix has no elements.
    @inlinable public var isEmpty: Bool { storage.isEmpty }

    /// The elements in row-major order.
    @inlinable public var elements: [Scalar] { storage }

    /// Element (row, column). - Precondition: the indices are in range.
    @inlinable
    public subscript(row: Int, column: Int) -> Scalar {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix index out of range")
            return storage[row * columns + column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix index out of range")
            storage[row * columns + column] = newValue
        }
    }

    /// The transpose, as a new matrix.
    @inlinable
    public func transposed() -> Matrix {
        Matrix(rows: columns, columns: rows) { i, j in storage[j * columns + i] }
    }

    /// Calls `body` with the contiguous row-major storage.
    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        try storage.withUnsafeBufferPointer { buffer throws(E) in try body(buffer) }
    }

    /// Calls `body` with the contiguous row-major storage, mutable and uniquely owned.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        try storage.withUnsafeMutableBufferPointer { buffer throws(E) in try body(buffer) }
    }
}
