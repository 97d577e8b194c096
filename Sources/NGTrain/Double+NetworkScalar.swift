import Foundation
import NGPlus

/// `Double` runs the training stack's loops compiled for Double (see `NetworkScalar`): the
/// generic code of `NetworkKernels` for its row-wise loops, its transcendental loops over libm's
/// `erf` and `exp`.
extension Double: NetworkScalar {
    public static func errorFunction(_ x: Double) -> Double { erf(x) }

    public static func exponential(_ x: Double) -> Double { exp(x) }

    @inlinable @inline(__always)
    public static func wholeNumber(_ x: Double) -> Int { Int(x) }

    public static func gaussianBasis(
        _ distances: UnsafePointer<Double>, pairs: Int, centers: Int, spacing: Double, gamma: Double,
        into basis: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.gaussianBasis(distances, pairs: pairs, centers: centers, spacing: spacing, gamma: gamma, into: basis)
    }

    public static func shiftedSoftplus(
        _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, sigmoid: UnsafeMutablePointer<Double>,
        count: Int
    ) {
        NetworkKernels.shiftedSoftplus(x, into: y, sigmoid: sigmoid, count: count)
    }

    public static func maxPoolPositions(
        _ yt: UnsafePointer<Double>, channels: Int, height: Int, width: Int, into y: UnsafeMutablePointer<Double>,
        argmax: UnsafeMutablePointer<Int32>
    ) {
        NetworkKernels.maxPoolPositions(yt, channels: channels, height: height, width: width, into: y, argmax: argmax)
    }

    public static func pooledWeightGradient(
        _ dy: UnsafePointer<Double>, argmax: UnsafePointer<Int32>, channels: Int, positions: Int,
        patches: UnsafePointer<Double>, rows: Int, into work: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.pooledWeightGradient(
            dy, argmax: argmax, channels: channels, positions: positions, patches: patches, rows: rows, into: work)
    }

    public static func maxPool(
        _ x: UnsafePointer<Double>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Double>, argmax: UnsafeMutablePointer<Int32>
    ) {
        NetworkKernels.maxPool(x, layout, samples: samples, rectify: rectify, into: y, argmax: argmax)
    }

    public static func softmaxCrossEntropy(
        _ logits: UnsafePointer<Double>, rows: Int, classes: Int, leadingDimension: Int, labels: UnsafeBufferPointer<Int>,
        into gradient: UnsafeMutablePointer<Double>
    ) -> Double {
        NetworkKernels.softmaxCrossEntropy(
            logits, rows: rows, classes: classes, leadingDimension: leadingDimension, labels: labels, into: gradient)
    }

    public static func gelu(
        _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, cumulative: UnsafeMutablePointer<Double>, count: Int
    ) {
        NetworkKernels.gelu(x, into: y, cumulative: cumulative, count: count)
    }

    public static func geluBackward(
        input x: UnsafePointer<Double>, cumulative: UnsafePointer<Double>, outputGradient dy: UnsafePointer<Double>,
        into dx: UnsafeMutablePointer<Double>, count: Int
    ) {
        NetworkKernels.geluBackward(input: x, cumulative: cumulative, outputGradient: dy, into: dx, count: count)
    }

    public static func shiftedExponentials(
        _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int, shift: Double
    ) {
        for i in 0..<count { y[i] = exponential(x[i] - shift) }
    }

    public static func causalSoftmax(
        _ scores: UnsafeMutablePointer<Double>, rows: Int, firstRow: Int, size: Int, leadingDimension: Int
    ) {
        NetworkKernels.causalSoftmax(scores, rows: rows, firstRow: firstRow, size: size, leadingDimension: leadingDimension)
    }

    public static func causalSoftmaxBackward(
        _ probabilities: UnsafePointer<Double>, _ gradient: UnsafeMutablePointer<Double>, rows: Int, firstRow: Int,
        size: Int, leadingDimension: Int
    ) {
        NetworkKernels.causalSoftmaxBackward(
            probabilities, gradient, rows: rows, firstRow: firstRow, size: size, leadingDimension: leadingDimension)
    }

    public static func layerNorm(
        _ x: UnsafePointer<Double>, rows: Int, width: Int, gain: UnsafePointer<Double>, bias: UnsafePointer<Double>,
        epsilon: Double, into y: UnsafeMutablePointer<Double>, means: UnsafeMutablePointer<Double>,
        inverseDeviation: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.layerNorm(
            x, rows: rows, width: width, gain: gain, bias: bias, epsilon: epsilon, into: y, means: means,
            inverseDeviation: inverseDeviation)
    }

    /// Plain loops, one sum a value of C.
    public static func rowProducts(
        m: Int, n: Int, length: Int, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        into c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Double = 0
                for k in 0..<length { sum += a[i * lda + k] * b[j * ldb + k] }
                c[i * ldc + j] = sum
            }
        }
    }

    public static func layerNormBackward(
        _ dy: UnsafePointer<Double>, input x: UnsafePointer<Double>, means: UnsafePointer<Double>,
        inverseDeviation: UnsafePointer<Double>, rows: Int, width: Int, gain: UnsafePointer<Double>,
        into dx: UnsafeMutablePointer<Double>, gainGradient: UnsafeMutablePointer<Double>,
        biasGradient: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.layerNormBackward(
            dy, input: x, means: means, inverseDeviation: inverseDeviation, rows: rows, width: width, gain: gain,
            into: dx, gainGradient: gainGradient, biasGradient: biasGradient)
    }

    public static func batchNormMoments(
        _ x: UnsafePointer<Double>, rows: Range<Int>, channels: Int, positions: Int, into moments: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.batchNormMoments(x, rows: rows, channels: channels, positions: positions, into: moments)
    }

    public static func batchNormApply(
        _ x: UnsafePointer<Double>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Double>,
        inverseDeviation: UnsafePointer<Double>, gain: UnsafePointer<Double>, bias: UnsafePointer<Double>, rectify: Bool,
        into y: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.batchNormApply(
            x, rows: rows, channels: channels, positions: positions, mean: mean, inverseDeviation: inverseDeviation,
            gain: gain, bias: bias, rectify: rectify, into: y)
    }

    public static func batchNormGradientSums(
        _ dy: UnsafePointer<Double>, rectifiedOutput: UnsafePointer<Double>?, input x: UnsafePointer<Double>,
        rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Double>,
        inverseDeviation: UnsafePointer<Double>, into dx: UnsafeMutablePointer<Double>, sums: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.batchNormGradientSums(
            dy, rectifiedOutput: rectifiedOutput, input: x, rows: rows, channels: channels, positions: positions,
            mean: mean, inverseDeviation: inverseDeviation, into: dx, sums: sums)
    }

    public static func batchNormGradientApply(
        input x: UnsafePointer<Double>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Double>,
        inverseDeviation: UnsafePointer<Double>, scale: UnsafePointer<Double>, meanGradient: UnsafePointer<Double>,
        meanWeighted: UnsafePointer<Double>, into dx: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.batchNormGradientApply(
            input: x, rows: rows, channels: channels, positions: positions, mean: mean,
            inverseDeviation: inverseDeviation, scale: scale, meanGradient: meanGradient, meanWeighted: meanWeighted,
            into: dx)
    }
}
