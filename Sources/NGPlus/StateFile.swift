import Foundation

/// The file format of a saved optimizer state, version 2 (2 stores Woodbury layers as U and C⁻¹·U):
///
///     "NGPS" | version (u64) | optimizer kind (string) | scalar (string) | payload length (u64)
///     | payload | CRC-32 of everything before it (u64)
///
/// Integers are little-endian; strings are a length and UTF-8 bytes; the payload is the
/// optimizer's `StateWriter` output. Files are written to a temporary file in the same
/// folder, flushed to disk, then renamed over the target, so a crash leaves either the old
/// file or the new one, never a mix.
enum StateFile {
    static let magic: [UInt8] = Array("NGPS".utf8)
    static let version = 2

    /// The complete file contents for `payload`.
    static func seal(payload: [UInt8], optimizer: String, scalar: String) -> [UInt8] {
        var bytes = magic
        var header = StateWriter()
        header.write(version)
        header.write(optimizer)
        header.write(scalar)
        header.write(payload.count)
        bytes += header.bytes
        bytes += payload
        var trailer = StateWriter()
        trailer.write(UInt64(crc32(bytes)))
        bytes += trailer.bytes
        return bytes
    }

    /// Writes `bytes` to `url` atomically: a temporary file in the same folder, flushed to
    /// disk, renamed over the target.
    static func writeAtomically(_ bytes: [UInt8], to url: URL, operation: String) throws(NGError) {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try Data(bytes).write(to: temporary)
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary.path, url.path) == 0 else {
                throw NGError.fileError(operation: operation, path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch let error as NGError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .fileError(operation: operation, path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    /// Checks sealed bytes and returns a reader over their payload.
    /// - Throws: `corruptState` for a wrong magic, version, optimizer or scalar type, a
    ///   truncated file or a checksum mismatch.
    static func open(
        _ bytes: [UInt8], optimizer: String, scalar: String, operation: String
    ) throws(NGError) -> StateReader {
        func corrupt(_ reason: String) -> NGError { .corruptState(operation: operation, reason: reason) }
        guard bytes.count >= magic.count + 8, Array(bytes.prefix(magic.count)) == magic else {
            throw corrupt("not an NGPlus state file (no NGPS magic)")
        }
        guard bytes.count >= magic.count + 16 else { throw corrupt("truncated: \(bytes.count) bytes") }
        let body = Array(bytes.dropLast(8))
        var trailer = StateReader(bytes: Array(bytes.suffix(8)), operation: operation)
        var header = StateReader(bytes: Array(body.dropFirst(magic.count)), operation: operation)
        let savedVersion = try header.readInt()
        guard savedVersion == version else { throw corrupt("format version \(savedVersion), this library reads \(version)") }
        let checksum = try trailer.readUInt64()
        guard checksum == UInt64(crc32(body)) else {
            throw corrupt("checksum mismatch: the file is truncated or damaged")
        }
        let savedOptimizer = try header.readString()
        guard savedOptimizer == optimizer else { throw corrupt("saved by \(savedOptimizer), not \(optimizer)") }
        let savedScalar = try header.readString()
        guard savedScalar == scalar else { throw corrupt("saved in \(savedScalar), not \(scalar)") }
        let length = try header.readInt()
        let payloadStart = magic.count + header.offset
        // Compared without adding: a crafted length near Int.max must not overflow.
        guard length >= 0, length == body.count - payloadStart else {
            throw corrupt("payload length \(length) does not match the file")
        }
        return StateReader(bytes: Array(body[payloadStart...]), operation: operation)
    }

    /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib and PNG compute it.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }
}
