import Foundation
import NGPlus

/// `Float` runs the training stack's loops compiled for Float (see `NetworkScalar`).
extension Float: NetworkScalar {
    public static func relu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        NetworkKernels.relu(x, into: y, count: count)
    }

    public static func reluBackward(
        output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        NetworkKernels.reluBackward(output: y, outputGradient: dy, into: dx, count: count)
    }

    public static func fold(
        _ geometry: ConvGeometry, _ du: UnsafePointer<Float>, ld: Int, batch: Int, sampleStride: Int,
        into dx: UnsafeMutablePointer<Float>
    ) {
        NetworkKernels.fold(geometry, du, ld: ld, batch: batch, sampleStride: sampleStride, into: dx)
    }

    public static func maxPool(
        _ x: UnsafePointer<Float>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
    ) {
        NetworkKernels.maxPool(x, layout, samples: samples, rectify: rectify, into: y, argmax: argmax)
    }

    public static func maxPoolBackward(
        _ dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, _ layout: PoolingLayout, samples: Range<Int>,
        into dx: UnsafeMutablePointer<Float>
    ) {
        NetworkKernels.maxPoolBackward(dy, argmax: argmax, layout, samples: samples, into: dx)
    }

    public static func gelu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        NetworkKernels.gelu(x, into: y, count: count)
    }

    public static func geluBackward(
        input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        NetworkKernels.geluBackward(input: x, outputGradient: dy, into: dx, count: count)
    }

    public static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, gain: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        epsilon: Float, into y: UnsafeMutablePointer<Float>, normalized: UnsafeMutablePointer<Float>,
        inverseDeviation: UnsafeMutablePointer<Float>
    ) {
        NetworkKernels.layerNorm(
            x, rows: rows, width: width, gain: gain, bias: bias, epsilon: epsilon, into: y, normalized: normalized,
            inverseDeviation: inverseDeviation)
    }

    public static func layerNormBackward(
        _ dy: UnsafePointer<Float>, normalized: UnsafePointer<Float>, inverseDeviation: UnsafePointer<Float>,
        rows: Int, width: Int, gain: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
        gainGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>
    ) {
        NetworkKernels.layerNormBackward(
            dy, normalized: normalized, inverseDeviation: inverseDeviation, rows: rows, width: width, gain: gain, into: dx,
            gainGradient: gainGradient, biasGradient: biasGradient)
    }

    public static func causalSoftmax(_ scores: UnsafeMutablePointer<Float>, size: Int, leadingDimension: Int) {
        NetworkKernels.causalSoftmax(scores, size: size, leadingDimension: leadingDimension)
    }

    public static func causalSoftmaxBackward(
        _ probabilities: UnsafePointer<Float>, _ gradient: UnsafeMutablePointer<Float>, size: Int, leadingDimension: Int
    ) {
        NetworkKernels.causalSoftmaxBackward(probabilities, gradient, size: size, leadingDimension: leadingDimension)
    }

    /// `FloatMath.erf`: inlined into the GELU loops, which then run as vector loops.
    @inlinable @inline(__always)
    public static func errorFunction(_ x: Float) -> Float { FloatMath.erf(x) }

    /// `FloatMath.exp`: inlined into the softmax and GELU loops.
    @inlinable @inline(__always)
    public static func exponential(_ x: Float) -> Float { FloatMath.exp(x) }
}
