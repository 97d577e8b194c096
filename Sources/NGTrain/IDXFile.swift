import CZlib
import Foundation
import NGPlus

/// An IDX file of unsigned bytes (the MNIST and Fashion-MNIST format): a magic number
/// `00 00 08 d` (d dimensions), d big-endian 32-bit sizes, then exactly the product of the
/// sizes in bytes. Files ending in `.gz` are read through zlib, which checks the stream's
/// CRC-32 and length. A header may ask for at most `maximumValues` values; the reader stops
/// before reading more than that.
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
        guard bytes.count - header == total else {
            throw corrupt("\(bytes.count - header) data bytes, the dimensions \(dimensions) need \(total)"
                + (bytes.count - header < total ? " (truncated)" : " (trailing bytes)"))
        }
        self.dimensions = dimensions
        self.values = Array(bytes[header...])
    }

    static func readBytes(_ path: String) throws(DataError) -> [UInt8] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .fileError(operation: .idxFile, path: path, reason: "does not exist or cannot be read")
        }
        guard path.hasSuffix(".gz") else {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .fileError(operation: .idxFile, path: path, reason: "cannot be read")
            }
            return Array(data)
        }
        guard let file = gzopen(path, "rb") else {
            throw .fileError(operation: .idxFile, path: path, reason: "cannot be opened by zlib")
        }
        defer { gzclose(file) }
        func damaged() -> DataError {
            var code: Int32 = 0
            let message = String(cString: gzerror(file, &code))
            return .corruptData(operation: .idxFile, path: path, reason: "gzip data is damaged: \(message)")
        }
        // The header first, to bound what the rest may ask for before inflating it.
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var limit = 4 + 4 * 4 + maximumValues
        while true {
            let read = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(Swift.min($0.count, 4096))) }
            if read < 0 { throw damaged() }
            if read == 0 { break }
            result.append(contentsOf: chunk[0..<Int(read)])
            if result.count >= 4, let declared = declaredLength(result) { limit = declared; break }
        }
        while result.count <= limit {
            let read = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if read < 0 { throw damaged() }
            if read == 0 { break }
            result.append(contentsOf: chunk[0..<Int(read)])
        }
        // zlib reports a missing or wrong trailer (CRC-32, length) only through gzerror.
        var code: Int32 = 0
        _ = gzerror(file, &code)
        if code != Z_OK { throw damaged() }
        return result
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
