/// Vector instruction sets a processor offers **and** the operating system enables: AVX and
/// its successors count only when XCR0 says the OS saves their registers (a CPU flag alone
/// would let a kernel fault on its first instruction).
public struct CPUFeatures: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let sse3 = CPUFeatures(rawValue: 1 << 0)
    public static let ssse3 = CPUFeatures(rawValue: 1 << 1)
    public static let sse41 = CPUFeatures(rawValue: 1 << 2)
    public static let sse42 = CPUFeatures(rawValue: 1 << 3)
    public static let avx = CPUFeatures(rawValue: 1 << 4)
    public static let fma = CPUFeatures(rawValue: 1 << 5)
    public static let avx2 = CPUFeatures(rawValue: 1 << 6)
    public static let avx512f = CPUFeatures(rawValue: 1 << 7)
    public static let avx512bw = CPUFeatures(rawValue: 1 << 8)
    public static let avx512dq = CPUFeatures(rawValue: 1 << 9)
    public static let avx512vl = CPUFeatures(rawValue: 1 << 10)
    public static let avx512bf16 = CPUFeatures(rawValue: 1 << 11)

    /// Every feature with the name `description` prints, in order.
    public static let named: [(feature: CPUFeatures, name: String)] = [
        (.sse3, "sse3"), (.ssse3, "ssse3"), (.sse41, "sse4.1"), (.sse42, "sse4.2"), (.avx, "avx"),
        (.fma, "fma"), (.avx2, "avx2"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"),
        (.avx512dq, "avx512dq"), (.avx512vl, "avx512vl"), (.avx512bf16, "avx512bf16"),
    ]

    /// The names of the features present, in the order of `named`.
    public var names: [String] { Self.named.filter { contains($0.feature) }.map(\.name) }

    /// The names joined by spaces, or "none".
    public var description: String { names.isEmpty ? "none" : names.joined(separator: " ") }

    /// The widest vector level every instruction of which is available.
    public var vectorLevel: VectorLevel {
        if isSuperset(of: [.avx512f, .avx512bw, .avx512dq, .avx512vl, .avx2, .fma]) { return .avx512 }
        if isSuperset(of: [.avx2, .fma]) { return .avx2 }
        if contains(.avx) { return .avx }
        return .sse
    }
}

/// The instruction-set level a family of BLAS kernels needs, or a processor offers, in
/// increasing order: SSE (2/3), AVX, AVX2 with FMA, AVX-512 (F, BW, DQ, VL).
public enum VectorLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case sse, avx, avx2, avx512

    public static func < (a: VectorLevel, b: VectorLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .sse: "SSE"
        case .avx: "AVX"
        case .avx2: "AVX2"
        case .avx512: "AVX-512"
        }
    }
}
