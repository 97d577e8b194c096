/// A little-endian byte stream for saving kernel and optimizer state exactly: integers as
/// 64 bits, scalars as their IEEE bit patterns, so a state that is saved and loaded again is
/// bit-identical.
public struct StateWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Int) { write(UInt64(bitPattern: Int64(value))) }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ value: Double) { write(value.bitPattern) }

    public mutating func write(_ value: String) {
        let utf8 = Array(value.utf8)
        write(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    /// A scalar array: its count, then each value's bit pattern.
    public mutating func write<Scalar: BLASScalar>(_ values: UnsafeBufferPointer<Scalar>) {
        write(values.count)
        for value in values { write(value.storageBits) }
    }

    /// A matrix: rows, columns, elements.
    public mutating func write<Scalar: BLASScalar>(_ matrix: Matrix<Scalar>) {
        write(matrix.rows)
        write(matrix.columns)
        matrix.withUnsafeBufferPointer { write($0) }
    }
}

/// Reads what `StateWriter` wrote. Every read checks the remaining length and throws
/// `corruptState` naming the offset instead of reading past the end.
public struct StateReader: Sendable {
    public let bytes: [UInt8]
    /// The next byte to read.
    public private(set) var offset = 0
    let operation: NGError.Operation

    public init(bytes: [UInt8], operation: NGError.Operation) {
        self.bytes = bytes
        self.operation = operation
    }

    /// True when every byte has been read.
    public var isAtEnd: Bool { offset == bytes.count }

    /// Throws `corruptState` with `reason`.
    public func fail(_ reason: String) -> NGError {
        .corruptState(operation: operation, reason: "\(reason) (at byte \(offset) of \(bytes.count))")
    }

    mutating func take(_ count: Int) throws(NGError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw fail("truncated: \(count) more bytes needed")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    public mutating func readUInt64() throws(NGError) -> UInt64 {
        let slice = try take(8)
        var value: UInt64 = 0
        for (shift, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        return value
    }

    public mutating func readInt() throws(NGError) -> Int { Int(Int64(bitPattern: try readUInt64())) }

    public mutating func readBool() throws(NGError) -> Bool {
        let byte = try take(1).first!
        guard byte <= 1 else { throw fail("a flag byte is \(byte), not 0 or 1") }
        return byte == 1
    }

    public mutating func readDouble() throws(NGError) -> Double { Double(bitPattern: try readUInt64()) }

    public mutating func readString() throws(NGError) -> String {
        let count = try readInt()
        let slice = try take(count)
        guard let string = String(validating: slice, as: UTF8.self) else { throw fail("a string is not UTF-8") }
        return string
    }

    /// Reads a scalar array of exactly `count` finite values into `target`.
    public mutating func read<Scalar: BLASScalar>(
        into target: UnsafeMutableBufferPointer<Scalar>, what: String
    ) throws(NGError) {
        let count = try readInt()
        guard count == target.count else {
            throw fail("\(what) has \(count) values, expected \(target.count)")
        }
        for i in 0..<count {
            guard let value = Scalar(storageBits: try readUInt64()) else {
                throw fail("\(what) holds a value that is not a \(Scalar.self)")
            }
            // No state of the package holds a NaN or an infinity: one in a file is damage.
            guard value.isFinite else { throw fail("\(what) holds a non-finite value at index \(i)") }
            target[i] = value
        }
    }

    /// Reads a matrix into `matrix`, which must already have the saved shape.
    public mutating func read<Scalar: BLASScalar>(
        into matrix: inout Matrix<Scalar>, what: String
    ) throws(NGError) {
        let rows = try readInt()
        let columns = try readInt()
        guard rows == matrix.rows, columns == matrix.columns else {
            throw fail("\(what) is \(Shape(rows, columns)), expected \(matrix.shape)")
        }
        try matrix.withUnsafeMutableBufferPointer { buffer throws(NGError) in
            try read(into: buffer, what: what)
        }
    }

    /// Reads a matrix of whatever shape was saved (for workspaces that may have grown).
    public mutating func readMatrix<Scalar: BLASScalar>(what: String) throws(NGError) -> Matrix<Scalar> {
        let rows = try readInt()
        let columns = try readInt()
        // Every count is hostile: the values must fit in the bytes left, 8 each, checked
        // without overflow before anything is allocated.
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, rows <= Int(Int32.max), columns <= Int(Int32.max), !overflow,
              count <= (bytes.count - offset) / 8
        else { throw fail("\(what) has an impossible shape \(rows)×\(columns)") }
        var matrix = Matrix<Scalar>(rows: rows, columns: columns)
        try matrix.withUnsafeMutableBufferPointer { buffer throws(NGError) in
            try read(into: buffer, what: what)
        }
        return matrix
    }
}

/// A kernel or optimizer part whose state can be saved and restored exactly. `restore` reads
/// into a value of the same configuration and throws `corruptState` on any mismatch; callers
/// restore into copies and keep them only when everything succeeded.
public protocol StateCodable {
    func encode(to writer: inout StateWriter)
    mutating func restore(from reader: inout StateReader) throws(NGError)
}
