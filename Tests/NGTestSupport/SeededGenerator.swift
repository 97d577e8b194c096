import NGKernels

/// SplitMix64: a small, fast generator whose sequence depends only on its seed, so every test
/// sees the same "random" data on every machine.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Matrix {
    /// A matrix of values uniform in [-scale, scale].
    public static func random(
        rows: Int, columns: Int, scale: Double = 1, using generator: inout SeededGenerator
    ) -> Matrix {
        var result = Matrix(rows: rows, columns: columns)
        for i in 0..<rows {
            for j in 0..<columns { result[i, j] = Scalar(Double.random(in: -scale...scale, using: &generator)) }
        }
        return result
    }
}
