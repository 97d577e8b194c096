import NGPlus
import Testing

/// A checkpoint is hostile input: a file whose checksum is right but whose counts and lengths
/// are absurd is refused with `corruptState`, before any large allocation, never a trap.
@Suite struct HostileStateTests {
    /// CRC-32 (IEEE), bit by bit: an independent reference for sealing crafted files.
    static func crc32(_ bytes: [UInt8]) -> UInt64 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return UInt64(crc ^ 0xFFFF_FFFF)
    }

    static func u64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    static func string(_ text: String) -> [UInt8] { u64(UInt64(text.utf8.count)) + Array(text.utf8) }

    /// A correctly checksummed file of format 2 with the given header length and payload.
    static func sealed(optimizer: String, scalar: String, declaredLength: UInt64, payload: [UInt8]) -> [UInt8] {
        let body = Array("NGPS".utf8) + u64(2) + string(optimizer) + string(scalar) + u64(declaredLength) + payload
        return body + u64(crc32(body))
    }

    @Test(arguments: [UInt64(Int64.max), UInt64.max, UInt64(Int64.max) - 3, 1 << 40])
    func anAbsurdPayloadLengthIsRefused(length: UInt64) throws {
        var optimizer = try NGPlusOptimizer<Float>()
        _ = try optimizer.register(.vector(length: 3))
        let before = optimizer.stateBytes()
        let bytes = Self.sealed(optimizer: "NGPlusOptimizer", scalar: "Float", declaredLength: length, payload: [1, 2, 3])
        #expect(throws: NGError.self) { try optimizer.restore(stateBytes: bytes) }
        #expect(optimizer.stateBytes() == before)
    }

    /// A matrix whose stored shape is Int32.max × Int32.max (and other products that overflow
    /// `rows · columns · 8`) is refused by the reader, before it allocates.
    @Test(arguments: [
        [Int64(Int32.max), Int64(Int32.max)], [Int64(1) << 31, Int64(1) << 31], [Int64(1) << 40, 1], [3, -1],
        [Int64.max, 2],
    ])
    func anAbsurdMatrixShapeIsRefused(shape: [Int64]) throws {
        let bytes = Self.u64(UInt64(bitPattern: shape[0])) + Self.u64(UInt64(bitPattern: shape[1]))
            + [UInt8](repeating: 0, count: 64)
        var reader = StateReader(bytes: bytes, operation: "test")
        #expect(throws: NGError.self) { let _: Matrix<Double> = try reader.readMatrix(what: "factors") }
    }
}
