import CCPUID

/// The processor this process runs on, as CPUID describes it: vendor, display family and
/// model, and the vector features the operating system enables (`CPUFeatures`).
///
/// `current` reads the real processor; the memberwise initializer describes any other, so
/// that decisions taken from a description (`KernelFit`) can be tested for every CPU.
public struct CPUDescription: Sendable, Hashable, CustomStringConvertible {
    /// The vendor string of CPUID leaf 0, for example "GenuineIntel" or "AuthenticAMD".
    public var vendor: String
    /// The display family: the base family, plus the extended family when the base is 0xF.
    public var family: Int
    /// The display model: the base model, plus the extended model (shifted by 4) for
    /// families 0x6 and 0xF.
    public var model: Int
    /// What the processor offers and the OS enables.
    public var features: CPUFeatures

    /// A description of any processor (tests describe CPUs this machine is not).
    public init(vendor: String, family: Int, model: Int, features: CPUFeatures) {
        self.vendor = vendor
        self.family = family
        self.model = model
        self.features = features
    }

    /// AMD or Hygon (whose cores take AMD's kernels).
    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    /// Intel.
    public var isIntel: Bool { vendor == "GenuineIntel" }

    /// For example "GenuineIntel family 6 model 207 (avx avx2 … avx512vl)".
    public var description: String { "\(vendor) family \(family) model \(model) (\(features))" }

    /// The processor of this process, read once.
    public static let current: CPUDescription = read()

    private static func read() -> CPUDescription {
        #if arch(x86_64) || arch(i386)
        return readCPUID()
        #else
        // No CPUID: nothing is known, so no kernel choice is judged (`KernelFit`).
        return CPUDescription(vendor: "unknown", family: 0, model: 0, features: [])
        #endif
    }

    #if arch(x86_64) || arch(i386)
    private static func readCPUID() -> CPUDescription {
        func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> (a: UInt32, b: UInt32, c: UInt32, d: UInt32) {
            var registers: [UInt32] = [0, 0, 0, 0]
            _ = ngplus_cpuid(leaf, subleaf, &registers)
            return (registers[0], registers[1], registers[2], registers[3])
        }
        let leaf0 = cpuid(0)
        let vendorBytes = [leaf0.b, leaf0.d, leaf0.c].flatMap { word in
            (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }
        }
        let vendor = String(decoding: vendorBytes.filter { $0 != 0 }, as: UTF8.self)

        let leaf1 = cpuid(1)
        let baseFamily = Int((leaf1.a >> 8) & 0xF)
        let baseModel = Int((leaf1.a >> 4) & 0xF)
        let family = baseFamily == 0xF ? baseFamily + Int((leaf1.a >> 20) & 0xFF) : baseFamily
        let model = baseFamily == 0x6 || baseFamily == 0xF
            ? baseModel + (Int((leaf1.a >> 16) & 0xF) << 4) : baseModel

        let xcr0 = ngplus_xgetbv0()
        let osSavesAVX = xcr0 & 0x6 == 0x6              // SSE and AVX (YMM) state
        let osSavesAVX512 = osSavesAVX && xcr0 & 0xE0 == 0xE0  // opmask, ZMM upper halves, ZMM16–31
        let leaf7 = cpuid(7)
        let leaf7s1 = cpuid(7, 1)
        func bit(_ register: UInt32, _ index: UInt32) -> Bool { register & (1 << index) != 0 }

        var features: CPUFeatures = []
        if bit(leaf1.c, 0) { features.insert(.sse3) }
        if bit(leaf1.c, 9) { features.insert(.ssse3) }
        if bit(leaf1.c, 19) { features.insert(.sse41) }
        if bit(leaf1.c, 20) { features.insert(.sse42) }
        if osSavesAVX {
            if bit(leaf1.c, 28) { features.insert(.avx) }
            if bit(leaf1.c, 12) { features.insert(.fma) }
            if bit(leaf7.b, 5) { features.insert(.avx2) }
        }
        if osSavesAVX512 {
            if bit(leaf7.b, 16) { features.insert(.avx512f) }
            if bit(leaf7.b, 17) { features.insert(.avx512dq) }
            if bit(leaf7.b, 30) { features.insert(.avx512bw) }
            if bit(leaf7.b, 31) { features.insert(.avx512vl) }
            if bit(leaf7s1.a, 5) { features.insert(.avx512bf16) }
        }
        return CPUDescription(vendor: vendor, family: family, model: model, features: features)
    }
    #endif
}
