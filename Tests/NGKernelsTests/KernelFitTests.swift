import Foundation
import NGKernels
import Testing

/// The decision table of `OpenBLASCoreTable` and `KernelFit`, one row per CPU kind, from
/// synthetic CPU descriptions (so that every row runs on any machine), and the description of
/// the real CPU against what Linux reports in /proc/cpuinfo.
@Suite struct KernelFitTests {
    static let sse: CPUFeatures = [.sse3, .ssse3, .sse41, .sse42]
    static let avx: CPUFeatures = sse.union(.avx)
    static let avx2: CPUFeatures = avx.union([.fma, .avx2])
    static let avx512: CPUFeatures = avx2.union([.avx512f, .avx512bw, .avx512dq, .avx512vl])

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let cpu: CPUDescription
        let coreInUse: String
        let fitting: String?
        let fallback: Bool
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "Intel Emerald Rapids (model 207) on 0.3.21's Prescott fallback",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 207, features: avx512.union(.avx512bf16)),
            coreInUse: "Prescott", fitting: "SkylakeX", fallback: true),
        Row(name: "Intel Sapphire Rapids, detected as Cooperlake",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 143, features: avx512.union(.avx512bf16)),
            coreInUse: "Cooperlake", fitting: "SkylakeX", fallback: false),
        Row(name: "Intel Skylake-SP, detected as SkylakeX",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 85, features: avx512),
            coreInUse: "SkylakeX", fitting: "SkylakeX", fallback: false),
        Row(name: "Intel Haswell on Prescott",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 63, features: avx2),
            coreInUse: "Prescott", fitting: "Haswell", fallback: true),
        Row(name: "Intel Sandy Bridge on Nehalem",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 45, features: avx),
            coreInUse: "Nehalem", fitting: "Sandybridge", fallback: true),
        Row(name: "AMD Zen 3, detected as Zen",
            cpu: CPUDescription(vendor: "AuthenticAMD", family: 25, model: 1, features: avx2),
            coreInUse: "Zen", fitting: "Zen", fallback: false),
        Row(name: "AMD Zen 3 on Prescott",
            cpu: CPUDescription(vendor: "AuthenticAMD", family: 25, model: 1, features: avx2),
            coreInUse: "Prescott", fitting: "Zen", fallback: true),
        Row(name: "AMD Zen 3 on Haswell (same level as Zen)",
            cpu: CPUDescription(vendor: "AuthenticAMD", family: 25, model: 1, features: avx2),
            coreInUse: "Haswell", fitting: "Zen", fallback: false),
        Row(name: "AMD Zen 4, detected as Cooperlake",
            cpu: CPUDescription(vendor: "AuthenticAMD", family: 25, model: 17, features: avx512.union(.avx512bf16)),
            coreInUse: "Cooperlake", fitting: "SkylakeX", fallback: false),
        Row(name: "AMD Zen 4 on Zen (AVX2 kernels)",
            cpu: CPUDescription(vendor: "AuthenticAMD", family: 25, model: 17, features: avx512),
            coreInUse: "Zen", fitting: "SkylakeX", fallback: true),
        Row(name: "AMD Zen 5 (family 26) on Prescott",
            cpu: CPUDescription(vendor: "AuthenticAMD", family: 26, model: 2, features: avx512.union(.avx512bf16)),
            coreInUse: "Prescott", fitting: "SkylakeX", fallback: true),
        Row(name: "Hygon Dhyana on Prescott",
            cpu: CPUDescription(vendor: "HygonGenuine", family: 24, model: 1, features: avx2),
            coreInUse: "Prescott", fitting: "Zen", fallback: true),
        Row(name: "AVX-512 F without VL counts as AVX2",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 87, features: avx2.union(.avx512f)),
            coreInUse: "Haswell", fitting: "Haswell", fallback: false),
        Row(name: "AVX2 without FMA counts as AVX",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 60, features: avx.union(.avx2)),
            coreInUse: "Prescott", fitting: "Sandybridge", fallback: true),
        Row(name: "SSE only: nothing better known",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 23, features: sse),
            coreInUse: "Penryn", fitting: nil, fallback: false),
        Row(name: "a core name the table does not know is never judged",
            cpu: CPUDescription(vendor: "GenuineIntel", family: 6, model: 207, features: avx512),
            coreInUse: "FutureLake", fitting: "SkylakeX", fallback: false),
    ]

    @Test(arguments: rows)
    func decisionTableRow(row: Row) {
        let fit = KernelFit(cpu: row.cpu, coreInUse: row.coreInUse, forcedCore: nil)
        #expect(fit.fittingCore == row.fitting)
        #expect(fit.isFallback == row.fallback)
        #expect(fit.fix == (row.fallback ? "OPENBLAS_CORETYPE=\(row.fitting!)" : nil))
        let warning = KernelFitWarning.message(for: fit, warningSetting: nil)
        #expect((warning != nil) == row.fallback)
        if row.fallback {
            #expect(warning!.contains("OPENBLAS_CORETYPE=\(row.fitting!)"))
            #expect(warning!.contains(row.coreInUse))
            #expect(fit.description.contains("below this CPU's"))
        }
    }

    @Test func aCoreTheUserForcedIsBelowTheCPUButNoFallback() {
        let cpu = CPUDescription(vendor: "GenuineIntel", family: 6, model: 207, features: Self.avx512)
        let fit = KernelFit(cpu: cpu, coreInUse: "Prescott", forcedCore: "Prescott")
        #expect(fit.isBelowCPU)
        #expect(!fit.isFallback)
        #expect(fit.fix == nil)
        #expect(KernelFitWarning.message(for: fit, warningSetting: nil) == nil)
        #expect(fit.description.contains("as the user chose"))
    }

    @Test func theWarningIsSilencedByItsEnvironmentSetting() {
        let cpu = CPUDescription(vendor: "GenuineIntel", family: 6, model: 207, features: Self.avx512)
        let fit = KernelFit(cpu: cpu, coreInUse: "Prescott", forcedCore: nil)
        #expect(KernelFitWarning.message(for: fit, warningSetting: "off") == nil)
        #expect(KernelFitWarning.message(for: fit, warningSetting: "OFF") == nil)
        #expect(KernelFitWarning.message(for: fit, warningSetting: "on") != nil)
    }

    @Test func everyCoreLevelIsOrderedAndCaseInsensitive() {
        #expect(OpenBLASCoreTable.vectorLevel(ofCore: "prescott") == .sse)
        #expect(OpenBLASCoreTable.vectorLevel(ofCore: "SANDYBRIDGE") == .avx)
        #expect(OpenBLASCoreTable.vectorLevel(ofCore: "Haswell") == .avx2)
        #expect(OpenBLASCoreTable.vectorLevel(ofCore: "Zen") == .avx2)
        #expect(OpenBLASCoreTable.vectorLevel(ofCore: "SkylakeX") == .avx512)
        #expect(OpenBLASCoreTable.vectorLevel(ofCore: "Cooperlake") == .avx512)
        #expect(OpenBLASCoreTable.vectorLevel(ofCore: "ARMV8") == nil)
        #expect(VectorLevel.sse < .avx && VectorLevel.avx < .avx2 && VectorLevel.avx2 < .avx512)
    }

    /// CPUID read directly agrees with the kernel's view in /proc/cpuinfo: vendor, family,
    /// model and the vector flags (which Linux, too, reports only when the OS enables them).
    @Test func theCurrentCPUAgreesWithProcCPUInfo() throws {
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let firstProcessor = text.components(separatedBy: "\n\n")[0]
        var fields: [String: String] = [:]
        for line in firstProcessor.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        let cpu = CPUDescription.current
        #expect(cpu.vendor == fields["vendor_id"])
        #expect(String(cpu.family) == fields["cpu family"])
        #expect(String(cpu.model) == fields["model"])
        let flags = Set((fields["flags"] ?? "").split(separator: " ").map(String.init))
        let pairs: [(CPUFeatures, String)] = [
            (.sse3, "pni"), (.ssse3, "ssse3"), (.sse41, "sse4_1"), (.sse42, "sse4_2"), (.avx, "avx"),
            (.fma, "fma"), (.avx2, "avx2"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"),
            (.avx512dq, "avx512dq"), (.avx512vl, "avx512vl"), (.avx512bf16, "avx512_bf16"),
        ]
        for (feature, flag) in pairs {
            #expect(cpu.features.contains(feature) == flags.contains(flag), "\(flag)")
        }
    }

    @Test func theKernelsOfThisProcessPassTheSelfCheck() {
        let check = KernelSelfCheck.run()
        #expect(check.passed, "\(check.summary)")
        #expect(check.checks == 32)
    }
}
