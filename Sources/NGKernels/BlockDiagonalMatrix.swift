/// A symmetric `dimension × dimension` matrix kept as its diagonal blocks, every block
/// `blockSize × blockSize` but the last, which holds the remainder. With `blockSize ≥
/// dimension` it is one full matrix. This is how every GFIM and damped inverse is stored:
/// docs/ALGORITHM.md §4 splits large layers into blocks of 1024 rows, each with its own inverse.
public struct BlockDiagonalMatrix<Scalar: BLASScalar>: Equatable, Sendable {
    /// The order of the whole matrix.
    public let dimension: Int
    /// The order of every block but possibly the last.
    public let blockSize: Int
    /// The diagonal blocks, in order; each is a complete square matrix.
    @usableFromInline var blocks: [Matrix<Scalar>]

    /// The zero matrix of order `dimension`, in blocks of `blockSize` (default 1024).
    /// - Throws: `invalidArgument` when `dimension` or `blockSize` is below 1.
    public init(dimension: Int, blockSize: Int = 1024) throws(NGError) {
        KernelFitWarning.emitOnce()
        try NGError.Operation.blockDiagonalMatrixInit.require(
            dimension >= 1 && dimension <= Int(Int32.max), "dimension", "must be in 1...Int32.max, got \(dimension)")
        try NGError.Operation.blockDiagonalMatrixInit.require(
            blockSize >= 1, "blockSize", "must be at least 1, got \(blockSize)")
        self.dimension = dimension
        self.blockSize = Swift.min(blockSize, dimension)
        let count = (dimension + self.blockSize - 1) / self.blockSize
        let size = self.blockSize
        self.blocks = (0..<count).map { b in
            let order = Swift.min(size, dimension - b * size)
            return Matrix(rows: order, columns: order)
        }
    }

    /// The diagonal blocks of a dense square matrix; everything off them is dropped.
    /// - Throws: `emptyMatrix` or `shapeMismatch` for a non-square matrix.
    public init(diagonalBlocksOf dense: Matrix<Scalar>, blockSize: Int = 1024) throws(NGError) {
        KernelFitWarning.emitOnce()
        try dense.requireNonEmpty(.blockDiagonalMatrixInit, "dense")
        try dense.requireShape(
            Shape(dense.rows, dense.rows), .blockDiagonalMatrixInit, "dense")
        try self.init(dimension: dense.rows, blockSize: blockSize)
        for b in blocks.indices {
            let start = blockRange(b).lowerBound
            let order = blocks[b].rows
            blocks[b] = Matrix(rows: order, columns: order) { i, j in dense[start + i, start + j] }
        }
    }

    /// The diagonal blocks, in order; each is a complete square matrix.
    @inlinable public var diagonalBlocks: [Matrix<Scalar>] { blocks }

    /// The number of diagonal blocks.
    @inlinable public var blockCount: Int { blocks.count }

    /// The rows (and columns) of the whole matrix that block `index` covers.
    @inlinable
    public func blockRange(_ index: Int) -> Range<Int> {
        let start = index * blockSize
        return start..<Swift.min(start + blockSize, dimension)
    }

    /// The whole matrix, dense, zeros off the diagonal blocks.
    public func dense() -> Matrix<Scalar> {
        var result = Matrix<Scalar>(rows: dimension, columns: dimension)
        for b in blocks.indices {
            let start = blockRange(b).lowerBound
            for i in 0..<blocks[b].rows {
                for j in 0..<blocks[b].columns { result[start + i, start + j] = blocks[b][i, j] }
            }
        }
        return result
    }

    /// Copies `other`'s values into this matrix's storage, allocating nothing when this one is
    /// uniquely held.
    /// - Throws: `shapeMismatch` when the order or block size differ.
    @inlinable
    public mutating func assign(from other: BlockDiagonalMatrix) throws(NGError) {
        guard other.dimension == dimension, other.blockSize == blockSize else {
            throw .shapeMismatch(
                operation: .blockDiagonalMatrixAssign, argument: "other (order × block size)",
                expected: Shape(dimension, blockSize), actual: Shape(other.dimension, other.blockSize))
        }
        for b in blocks.indices {
            other.blocks[b].withView { source in blocks[b].withMutableView { target in target.update(from: source) } }
        }
    }

    /// Calls `body` with each diagonal block's row-major storage in turn, mutable (the values a
    /// data-parallel run sums across processes, say).
    @inlinable
    public mutating func forEachBlockStorage<E: Error>(
        _ body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> Void
    ) throws(E) {
        for b in blocks.indices { try blocks[b].withUnsafeMutableBufferPointer { p throws(E) in try body(p) } }
    }

    /// The number of values the diagonal blocks hold.
    @inlinable public var blockStorageCount: Int {
        var count = 0
        for b in blocks.indices { count += blocks[b].rows * blocks[b].columns }
        return count
    }

    /// Overwrites every block with the identity times `value`.
    @inlinable public mutating func setDiagonal(_ value: Scalar) {
        for b in blocks.indices {
            let order = blocks[b].rows
            blocks[b].withUnsafeMutableBufferPointer { p in
                p.update(repeating: 0)
                for i in 0..<order { p[i * order + i] = value }
            }
        }
    }

    /// True when no block holds a NaN or an infinity (a scan at memory speed).
    @inlinable public var isFinite: Bool {
        for b in blocks.indices where blocks[b].firstNonFiniteIndex() != nil { return false }
        return true
    }

    /// Throws `nonFinite` with whole-matrix coordinates of the first NaN or infinity.
    @inlinable public func requireFinite(_ operation: NGError.Operation, _ argument: String) throws(NGError) {
        for b in blocks.indices {
            if let index = blocks[b].firstNonFiniteIndex() {
                let start = blockRange(b).lowerBound
                let order = blocks[b].columns
                throw .nonFinite(
                    operation: operation, argument: argument,
                    row: start + index / order, column: start + index % order)
            }
        }
    }
}
