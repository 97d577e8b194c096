/// OpenBLAS's x86-64 kernel families ("cores", the names `openblas_get_corename()` returns and
/// `OPENBLAS_CORETYPE` accepts), the vector level each needs, and the one that fits a CPU.
///
/// OpenBLAS built with `DYNAMIC_ARCH` picks a core when it loads, from the CPU's family and
/// model. Debian 12's OpenBLAS 0.3.21 falls back to `Prescott` (SSE3) on Intel family-6
/// models it does not know (Emerald Rapids, model 207, is one), and its `OPENBLAS_CORETYPE`
/// parser cannot name `Cooperlake` (the loop stops one entry short); see docs/OPENBLAS.md.
public enum OpenBLASCoreTable {
    /// Every core name this table knows, lowercased, with the vector level its kernels need.
    public static let levels: [String: VectorLevel] = {
        var table: [String: VectorLevel] = [:]
        for name in ["Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2",
                     "Penryn", "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron_SSE3",
                     "Barcelona", "Nano", "Bobcat"] {
            table[name.lowercased()] = .sse
        }
        for name in ["Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"] {
            table[name.lowercased()] = .avx
        }
        for name in ["Haswell", "Zen"] { table[name.lowercased()] = .avx2 }
        for name in ["SkylakeX", "Cooperlake", "SapphireRapids"] { table[name.lowercased()] = .avx512 }
        return table
    }()

    /// The vector level the kernels of core `name` need (case-insensitive); nil for a name
    /// this table does not know (another architecture, or a newer OpenBLAS).
    public static func vectorLevel(ofCore name: String) -> VectorLevel? {
        levels[name.lowercased()]
    }

    /// The core to force with `OPENBLAS_CORETYPE` on `cpu`: the widest kernels the CPU runs,
    /// by a name OpenBLAS 0.3.21 and later accept. Nil when nothing better
    /// than the SSE kernels is known.
    ///
    /// | CPU offers (and the OS enables) | core |
    /// | --- | --- |
    /// | AVX-512 F, BW, DQ, VL (any vendor) | `SkylakeX` (Cooperlake's extra kernels are BF16 only, and 0.3.21 cannot force it) |
    /// | AVX2 and FMA, AMD or Hygon | `Zen` |
    /// | AVX2 and FMA, Intel and others | `Haswell` |
    /// | AVX | `Sandybridge` (runs on every AVX CPU; AMD's Bulldozer kernels need FMA4) |
    /// | SSE only | nil |
    public static func fittingCore(for cpu: CPUDescription) -> String? {
        switch cpu.features.vectorLevel {
        case .avx512: "SkylakeX"
        case .avx2: cpu.isAMD ? "Zen" : "Haswell"
        case .avx: "Sandybridge"
        case .sse: nil
        }
    }
}
