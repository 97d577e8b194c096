import Foundation

/// The file format of a saved optimizer state, version 5 (5 keeps a K-FAC layer's input
/// factor in the form its plan chose and refuses K-FAC states before it; 4 ordered a K-FAC
/// layer as every curvature layer; 3 adds the settings; 2, which stores Woodbury layers as U
/// and C⁻¹·U, is still read for the other optimizers):
///
///     "NGPS" | version (u64) | optimizer kind (string) | scalar (string)
///     | settings as sorted JSON (string, version 3) | payload length (u64) | payload
///     | CRC-32 of everything before it (u64)
///
/// Integers are little-endian; strings are a length and UTF-8 bytes; the payload is the
/// optimizer's `StateWriter` output. A model's parameters (NGTrain's `Model.parameterBytes`)
/// are sealed the same way, with the kind `Model` and no settings. Files are written by `AtomicFile`, so a crash leaves
/// either the old file or the new one, never a mix.
package enum StateFile {
    static let magic: [UInt8] = Array("NGPS".utf8)
    package static let version = 5
    /// The oldest version this library reads (`LayerRecord.oldestStateVersion` per optimizer).
    static let oldestVersion = 2

    /// The complete file contents for `payload`.
    package static func seal(payload: [UInt8], optimizer: String, scalar: String, settings: String) -> [UInt8] {
        var bytes = magic
        var header = StateWriter()
        header.write(version)
        header.write(optimizer)
        header.write(scalar)
        header.write(settings)
        header.write(payload.count)
        bytes += header.bytes
        bytes += payload
        var trailer = StateWriter()
        trailer.write(UInt64(crc32(bytes)))
        bytes += trailer.bytes
        return bytes
    }

    /// Checks sealed bytes and returns a reader over their payload. The saved settings are
    /// compared with `settings` after `canonical` (which brings settings saved before a
    /// setting existed to today's text, that setting at its old behaviour).
    /// - Throws: `corruptState` for a wrong magic, version, optimizer or scalar type, other
    ///   settings, a truncated file or a checksum mismatch.
    package static func open(
        _ bytes: [UInt8], optimizer: String, scalar: String, settings: String, oldestVersion: Int,
        operation: NGError.Operation, canonical: (String) -> String = { $0 }
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
        guard (oldestVersion...version).contains(savedVersion) else {
            throw corrupt("format version \(savedVersion), this library reads \(oldestVersion) to \(version) for \(optimizer)")
        }
        let checksum = try trailer.readUInt64()
        guard checksum == UInt64(crc32(body)) else {
            throw corrupt("checksum mismatch: the file is truncated or damaged")
        }
        let savedOptimizer = try header.readString()
        guard savedOptimizer == optimizer else { throw corrupt("saved by \(savedOptimizer), not \(optimizer)") }
        let savedScalar = try header.readString()
        guard savedScalar == scalar else { throw corrupt("saved in \(savedScalar), not \(scalar)") }
        if savedVersion >= 3 {
            let savedSettings = canonical(try header.readString())
            if savedSettings != settings {
                throw corrupt("saved with other settings: \(settingsDifference(saved: savedSettings, current: settings))")
            }
        }
        let length = try header.readInt()
        let payloadStart = magic.count + header.offset
        // Compared without adding: a crafted length near Int.max must not overflow.
        guard length >= 0, length == body.count - payloadStart else {
            throw corrupt("payload length \(length) does not match the file")
        }
        return StateReader(bytes: Array(body[payloadStart...]), operation: operation)
    }

    /// The settings that differ between two sorted JSON objects, as `name saved → current`.
    static func settingsDifference(saved: String, current: String) -> String {
        func object(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
        let (old, new) = (object(saved), object(current))
        let names = Set(old.keys).union(new.keys).sorted()
        let differences = names.compactMap { name -> String? in
            let (a, b) = (old[name].map { "\($0)" } ?? "none", new[name].map { "\($0)" } ?? "none")
            return a == b ? nil : "\(name) \(a) → \(b)"
        }
        return differences.isEmpty ? "\(saved) → \(current)" : differences.joined(separator: ", ")
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
