import CZlib
import Foundation
import NGPlus

/// An IDX file of unsigned bytes (the MNIST and Fashion-MNIST format): a magic number
/// `00 00 08 d` (d dimensions), d big-endian 32-bit sizes, then exactly the product of the
/// sizes in bytes. Files ending in `.gz` are read through zlib, which checks the stream's
/// CRC-32 and length. A header may ask for at most `maximumValues` values; the reader reads
/// the header first, then no more than the bytes it declares and one (a larger file is refused
/// as having trailing bytes without being read).
public struct IDXFile: Sendable {
    /// The sizes of each dimension (for images: count, rows, columns).
    public let dimensions: [Int]
    /// The values, row-major.
    public let values: [UInt8]
    /// The most values a file may hold (2²⁸, 256 MiB; Fashion-MNIST's training images are 47
    /// million).
    public static let maximumValues = 1 << 28

    /// Reads and validates `path`.
    /// - Throws: `fileError` when it cannot be read, `corruptData` for a wrong magic number,
    ///   type, dimension count, or a length that does not match the dimensions (truncated or
    ///   trailing bytes), naming the file.
    public init(path: String) throws(DataError) {
        let bytes = try Self.readBytes(path)
        func corrupt(_ reason: String) -> DataError { .corruptData(operation: .idxFile, path: path, reason: reason) }
        guard bytes.count >= 4 else { throw corrupt("\(bytes.count) bytes, shorter than an IDX header") }
        guard bytes[0] == 0, bytes[1] == 0 else { throw corrupt("magic number starts \(bytes[0]) \(bytes[1]), not 0 0") }
        guard bytes[2] == 0x08 else { throw corrupt("element type 0x\(String(bytes[2], radix: 16)), only unsigned bytes (0x08) are supported") }
        let count = Int(bytes[3])
        guard (1...4).contains(count) else { throw corrupt("\(count) dimensions, expected 1 to 4") }
        let header = 4 + 4 * count
        guard bytes.count >= header else { throw corrupt("truncated in its header of \(count) dimensions") }
        var dimensions: [Int] = []
        var total = 1
        for d in 0..<count {
            let offset = 4 + 4 * d
            let size = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard size >= 1, size <= Self.maximumValues else { throw corrupt("dimension \(d) has size \(size)") }
            dimensions.append(size)
            total *= size
            guard total <= Self.maximumValues else { throw corrupt("more than \(Self.maximumValues) values") }
        }
        // `readBytes` stops one byte after the declared length: more than that is trailing.
        guard bytes.count - header <= total else {
            throw corrupt("more data bytes than the dimensions \(dimensions) need, \(total) (trailing bytes)")
        }
        guard bytes.count - header == total else {
            throw corrupt("\(bytes.count - header) data bytes, the dimensions \(dimensions) need \(total) (truncated)")
        }
        self.dimensions = dimensions
        self.values = Array(bytes[header...])
    }

    /// The header, then exactly the bytes it declares and one more if there is one (so that
    /// `init` can tell trailing bytes): never more, whatever the file's size, plain or gzip.
    static func readBytes(_ path: String) throws(DataError) -> [UInt8] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .fileError(operation: .idxFile, path: path, reason: "does not exist or cannot be read")
        }
        let source = try ByteSource(path: path)
        defer { source.close() }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        /// Appends up to `count` bytes; false at the end of the file.
        func append(atMost count: Int) throws(DataError) -> Bool {
            let read = chunk.withUnsafeMutableBytes { buffer in
                source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Swift.min(buffer.count, count)]))
            }
            if read < 0 { throw source.failure() }
            result.append(contentsOf: chunk[0..<read])
            return read > 0
        }
        // The header first (four bytes, then its sizes), to bound what the rest may ask for.
        var limit: Int?
        while limit == nil {
            let wanted = result.count < 4 ? 4 : 4 + 4 * Int(result[3])
            guard try append(atMost: Swift.max(wanted - result.count, 1)) else { break }
            if result.count >= 4 { limit = declaredLength(result) }
        }
        while let limit, result.count <= limit, try append(atMost: limit + 1 - result.count) {}
        try source.finish()
        return result
    }

    /// A plain or gzip file read in pieces; zlib checks a gzip stream's CRC-32 and length.
    struct ByteSource {
        let path: String
        var plain: UnsafeMutablePointer<FILE>?
        var gzip: gzFile?

        init(path: String) throws(DataError) {
            self.path = path
            if path.hasSuffix(".gz") {
                gzip = gzopen(path, "rb")
                guard gzip != nil else {
                    throw .fileError(operation: .idxFile, path: path, reason: "cannot be opened by zlib")
                }
            } else {
                plain = fopen(path, "rb")
                guard plain != nil else {
                    throw .fileError(operation: .idxFile, path: path, reason: "cannot be opened: \(String(cString: strerror(errno)))")
                }
            }
        }

        /// Reads up to `buffer.count` bytes; 0 at the end, -1 on an error (`failure()` says which).
        func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
            if let gzip { return Int(gzread(gzip, buffer.baseAddress, UInt32(buffer.count))) }
            let read = fread(buffer.baseAddress, 1, buffer.count, plain)
            return read < buffer.count && ferror(plain) != 0 ? -1 : read
        }

        /// The error of a failed `read`.
        func failure() -> DataError {
            gzip == nil ? .fileError(operation: .idxFile, path: path, reason: "cannot be read") : damaged()
        }

        /// Throws when zlib saw a damaged stream: it reports a missing or wrong trailer (CRC-32,
        /// length) only through `gzerror`.
        func finish() throws(DataError) {
            guard let gzip else { return }
            var code: Int32 = 0
            _ = gzerror(gzip, &code)
            if code != Z_OK { throw damaged() }
        }

        func damaged() -> DataError {
            var code: Int32 = 0
            let message = gzip.map { String(cString: gzerror($0, &code)) } ?? ""
            return .corruptData(operation: .idxFile, path: path, reason: "gzip data is damaged: \(message)")
        }

        func close() {
            if let gzip { gzclose(gzip) }
            if let plain { fclose(plain) }
        }
    }

    /// The length of header plus data that the header at the start of `bytes` declares (the
    /// header alone when it asks for too much or is malformed: `init` then names the problem
    /// without the data being inflated), or nil while the header is incomplete.
    static func declaredLength(_ bytes: [UInt8]) -> Int? {
        let count = Int(bytes[3])
        let header = 4 + 4 * count
        guard (1...4).contains(count) else { return 4 }
        guard bytes.count >= header else { return nil }
        var total = 1
        for d in 0..<count {
            let size = bytes[(4 + 4 * d)..<(8 + 4 * d)].reduce(0) { $0 << 8 | Int($1) }
            guard size >= 1, size <= maximumValues else { return header }
            total *= size
            guard total <= maximumValues else { return header }
        }
        return header + total
    }
}
