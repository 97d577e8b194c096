import NGPlus

/// The normalization loops of `NetworkScalar` (batch normalization's passes and its
/// cross-process sums), forwarded to the generic code of `NetworkKernels` and specialized as the
/// others (`NetworkScalar+Kernels.swift`). Float's own passes, in `FloatLoops`, replace the four
/// per-row passes; the whole-batch entry points stay these, which call them.
extension NetworkScalar {
    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func batchNorm(
        _ x: UnsafePointer<Self>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Self>,
        bias: UnsafePointer<Self>, epsilon: Self, batchStatistics: Bool, rectify: Bool, mean: UnsafeMutablePointer<Self>,
        variance: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>,
        inverseDeviation: UnsafeMutablePointer<Self>, workspace: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNorm(
            x, rows: rows, channels: channels, positions: positions, gain: gain, bias: bias, epsilon: epsilon,
            batchStatistics: batchStatistics, rectify: rectify, mean: mean, variance: variance, into: y,
            inverseDeviation: inverseDeviation, workspace: workspace)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func batchNormBackward(
        _ dy: UnsafePointer<Self>, input x: UnsafePointer<Self>, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Self>,
        batchStatistics: Bool, rectifiedOutput: UnsafePointer<Self>?, into dx: UnsafeMutablePointer<Self>,
        gainGradient: UnsafeMutablePointer<Self>, biasGradient: UnsafeMutablePointer<Self>,
        workspace: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNormBackward(
            dy, input: x, mean: mean, inverseDeviation: inverseDeviation, rows: rows, channels: channels,
            positions: positions, gain: gain, batchStatistics: batchStatistics, rectifiedOutput: rectifiedOutput,
            into: dx, gainGradient: gainGradient, biasGradient: biasGradient, workspace: workspace)
    }

    @_specialize(where Self == Double)
    public static func batchNormMoments(
        _ x: UnsafePointer<Self>, rows: Range<Int>, channels: Int, positions: Int, into moments: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNormMoments(x, rows: rows, channels: channels, positions: positions, into: moments)
    }

    @_specialize(where Self == Double)
    public static func batchNormApply(
        _ x: UnsafePointer<Self>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, gain: UnsafePointer<Self>, bias: UnsafePointer<Self>, rectify: Bool,
        into y: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNormApply(
            x, rows: rows, channels: channels, positions: positions, mean: mean, inverseDeviation: inverseDeviation,
            gain: gain, bias: bias, rectify: rectify, into: y)
    }

    @_specialize(where Self == Double)
    public static func batchNormGradientSums(
        _ dy: UnsafePointer<Self>, rectifiedOutput: UnsafePointer<Self>?, input x: UnsafePointer<Self>,
        rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, sums: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNormGradientSums(
            dy, rectifiedOutput: rectifiedOutput, input: x, rows: rows, channels: channels, positions: positions,
            mean: mean, inverseDeviation: inverseDeviation, into: dx, sums: sums)
    }

    @_specialize(where Self == Double)
    public static func batchNormGradientApply(
        input x: UnsafePointer<Self>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, scale: UnsafePointer<Self>, meanGradient: UnsafePointer<Self>,
        meanWeighted: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNormGradientApply(
            input: x, rows: rows, channels: channels, positions: positions, mean: mean,
            inverseDeviation: inverseDeviation, scale: scale, meanGradient: meanGradient, meanWeighted: meanWeighted,
            into: dx)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func batchNormSums(
        _ x: UnsafePointer<Self>, rows: Int, channels: Int, positions: Int, center: UnsafePointer<Self>?,
        into sums: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNormSums(x, rows: rows, channels: channels, positions: positions, center: center, into: sums)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func batchNormStatisticsGradient(
        input x: UnsafePointer<Self>, mean: UnsafePointer<Self>, inverseDeviation: UnsafePointer<Self>, rows: Int,
        channels: Int, positions: Int, gain: UnsafePointer<Self>, meanGradient: UnsafePointer<Self>,
        meanWeighted: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.batchNormStatisticsGradient(
            input: x, mean: mean, inverseDeviation: inverseDeviation, rows: rows, channels: channels,
            positions: positions, gain: gain, meanGradient: meanGradient, meanWeighted: meanWeighted, into: dx)
    }
}
