import Foundation
import NGPlus

/// `Float` runs the training stack's loops compiled for Float (see `NetworkScalar`); its
/// transcendental and row-wise loops are `FloatLoops`', at the processor's widest vector level.
extension Float: NetworkScalar {
    /// `FloatMath.erf`: inlined into the loops that call it, which then run as vector loops.
    @inlinable @inline(__always)
    public static func errorFunction(_ x: Float) -> Float { FloatMath.erf(x) }

    /// `FloatMath.exp`: inlined into SchNet's loops.
    @inlinable @inline(__always)
    public static func exponential(_ x: Float) -> Float { FloatMath.exp(x) }

    @inlinable @inline(__always)
    public static func wholeNumber(_ x: Float) -> Int { Int(x) }

    public static func gaussianBasis(
        _ distances: UnsafePointer<Float>, pairs: Int, centers: Int, spacing: Float, gamma: Float,
        into basis: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.gaussianBasis(
            distances, pairs: pairs, centers: centers, spacing: spacing, gamma: gamma,
            lowest: NetworkKernels.basisLowestArgument(Float.self), floor: NetworkKernels.basisFloor(Float.self),
            into: basis)
    }

    public static func shiftedSoftplus(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, sigmoid: UnsafeMutablePointer<Float>, count: Int
    ) {
        FloatLoops.selected.shiftedSoftplus(x, into: y, sigmoid: sigmoid, count: count)
    }

    public static func gelu(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, cumulative: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        FloatLoops.selected.gelu(x, into: y, cumulative: cumulative, count: count)
    }

    public static func geluBackward(
        input x: UnsafePointer<Float>, cumulative: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        into dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        FloatLoops.selected.geluBackward(input: x, cumulative: cumulative, outputGradient: dy, into: dx, count: count)
    }

    public static func shiftedExponentials(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, shift: Float
    ) {
        FloatLoops.selected.shiftedExponentials(x, into: y, count: count, shift: shift)
    }

    public static func softmaxCrossEntropy(
        _ logits: UnsafePointer<Float>, rows: Int, classes: Int, leadingDimension: Int, labels: UnsafeBufferPointer<Int>,
        into gradient: UnsafeMutablePointer<Float>
    ) -> Double {
        guard let labels = labels.baseAddress else { return 0 }
        return FloatLoops.selected.softmaxCrossEntropy(
            logits, rows: rows, classes: classes, leadingDimension: leadingDimension, labels: labels, into: gradient)
    }

    public static func maxPoolPositions(
        _ yt: UnsafePointer<Float>, channels: Int, height: Int, width: Int, into y: UnsafeMutablePointer<Float>,
        argmax: UnsafeMutablePointer<Int32>
    ) {
        FloatLoops.selected.maxPoolPositions(
            yt, channels: channels, height: height, width: width, rectify: true, into: y, argmax: argmax)
    }

    public static func pooledWeightGradient(
        _ dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, channels: Int, positions: Int,
        patches: UnsafePointer<Float>, rows: Int, into work: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.pooledWeightGradient(
            dy, argmax: argmax, channels: channels, positions: positions, patches: patches, rows: rows, into: work)
    }

    /// Plane by plane, each found where `layout` says, through `FloatLoops.maxPoolPlane`.
    public static func maxPool(
        _ x: UnsafePointer<Float>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
    ) {
        let (height, width, loops) = (layout.height, layout.width, FloatLoops.selected)
        let windows = (height / 2) * (width / 2)
        for sample in samples {
            for channel in 0..<layout.channels {
                let output = (sample * layout.channels + channel) * windows
                loops.maxPoolPlane(
                    x, input: layout.inputPlane(sample: sample, channel: channel) * height * width, height: height,
                    width: width, rectify: rectify, into: y + output, argmax: argmax + output)
            }
        }
    }

    public static func causalSoftmax(
        _ scores: UnsafeMutablePointer<Float>, rows: Int, firstRow: Int, size: Int, leadingDimension: Int
    ) {
        FloatLoops.selected.causalSoftmax(
            scores, rows: rows, firstRow: firstRow, size: size, leadingDimension: leadingDimension)
    }

    public static func causalSoftmaxBackward(
        _ probabilities: UnsafePointer<Float>, _ gradient: UnsafeMutablePointer<Float>, rows: Int, firstRow: Int,
        size: Int, leadingDimension: Int
    ) {
        FloatLoops.selected.causalSoftmaxBackward(
            probabilities, gradient, rows: rows, firstRow: firstRow, size: size, leadingDimension: leadingDimension)
    }

    public static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, gain: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        epsilon: Float, into y: UnsafeMutablePointer<Float>, means: UnsafeMutablePointer<Float>,
        inverseDeviation: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.layerNorm(
            x, rows: rows, width: width, gain: gain, bias: bias, epsilon: epsilon, into: y, means: means,
            inverseDeviation: inverseDeviation)
    }

    public static func batchNormMoments(
        _ x: UnsafePointer<Float>, rows: Range<Int>, channels: Int, positions: Int,
        into moments: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.batchNormMoments(x, rows: rows, channels: channels, positions: positions, into: moments)
    }

    public static func batchNormApply(
        _ x: UnsafePointer<Float>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, gain: UnsafePointer<Float>, bias: UnsafePointer<Float>, rectify: Bool,
        into y: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.batchNormApply(
            x, rows: rows, channels: channels, positions: positions, mean: mean, inverseDeviation: inverseDeviation,
            gain: gain, bias: bias, rectify: rectify, into: y)
    }

    public static func batchNormGradientSums(
        _ dy: UnsafePointer<Float>, rectifiedOutput: UnsafePointer<Float>?, input x: UnsafePointer<Float>,
        rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.batchNormGradientSums(
            dy, rectifiedOutput: rectifiedOutput, input: x, rows: rows, channels: channels, positions: positions,
            mean: mean, inverseDeviation: inverseDeviation, into: dx, sums: sums)
    }

    public static func batchNormGradientApply(
        input x: UnsafePointer<Float>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, scale: UnsafePointer<Float>, meanGradient: UnsafePointer<Float>,
        meanWeighted: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.batchNormGradientApply(
            input: x, rows: rows, channels: channels, positions: positions, mean: mean,
            inverseDeviation: inverseDeviation, scale: scale, meanGradient: meanGradient, meanWeighted: meanWeighted,
            into: dx)
    }

    public static func rowProducts(
        m: Int, n: Int, length: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        FloatLoops.selected.rowProducts(m: m, n: n, length: length, a: a, lda: lda, b: b, ldb: ldb, into: c, ldc: ldc)
    }

    public static func layerNormBackward(
        _ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, means: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, rows: Int, width: Int, gain: UnsafePointer<Float>,
        into dx: UnsafeMutablePointer<Float>, gainGradient: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.layerNormBackward(
            dy, input: x, means: means, inverseDeviation: inverseDeviation, rows: rows, width: width, gain: gain,
            into: dx, gainGradient: gainGradient, biasGradient: biasGradient)
    }
}
