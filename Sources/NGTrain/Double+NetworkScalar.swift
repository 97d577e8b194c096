import Foundation
import NGPlus

/// `Double` runs the training stack's loops compiled for Double (see `NetworkScalar`).
extension Double: NetworkScalar {
    public static func relu(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int) {
        NetworkKernels.relu(x, into: y, count: count)
    }

    public static func reluBackward(
        output y: UnsafePointer<Double>, outputGradient dy: UnsafePointer<Double>, into dx: UnsafeMutablePointer<Double>, count: Int
    ) {
        NetworkKernels.reluBackward(output: y, outputGradient: dy, into: dx, count: count)
    }

    public static func fold(
        _ geometry: ConvGeometry, _ du: UnsafePointer<Double>, ld: Int, batch: Int, sampleStride: Int,
        into dx: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.fold(geometry, du, ld: ld, batch: batch, sampleStride: sampleStride, into: dx)
    }

    public static func maxPool(
        _ x: UnsafePointer<Double>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Double>, argmax: UnsafeMutablePointer<Int32>
    ) {
        NetworkKernels.maxPool(x, layout, samples: samples, rectify: rectify, into: y, argmax: argmax)
    }

    public static func maxPoolBackward(
        _ dy: UnsafePointer<Double>, argmax: UnsafePointer<Int32>, _ layout: PoolingLayout, samples: Range<Int>,
        into dx: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.maxPoolBackward(dy, argmax: argmax, layout, samples: samples, into: dx)
    }

    public static func gelu(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int) {
        NetworkKernels.gelu(x, into: y, count: count)
    }

    public static func geluBackward(
        input x: UnsafePointer<Double>, outputGradient dy: UnsafePointer<Double>, into dx: UnsafeMutablePointer<Double>, count: Int
    ) {
        NetworkKernels.geluBackward(input: x, outputGradient: dy, into: dx, count: count)
    }

    public static func layerNorm(
        _ x: UnsafePointer<Double>, rows: Int, width: Int, gain: UnsafePointer<Double>, bias: UnsafePointer<Double>,
        epsilon: Double, into y: UnsafeMutablePointer<Double>, normalized: UnsafeMutablePointer<Double>,
        inverseDeviation: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.layerNorm(
            x, rows: rows, width: width, gain: gain, bias: bias, epsilon: epsilon, into: y, normalized: normalized,
            inverseDeviation: inverseDeviation)
    }

    public static func layerNormBackward(
        _ dy: UnsafePointer<Double>, normalized: UnsafePointer<Double>, inverseDeviation: UnsafePointer<Double>,
        rows: Int, width: Int, gain: UnsafePointer<Double>, into dx: UnsafeMutablePointer<Double>,
        gainGradient: UnsafeMutablePointer<Double>, biasGradient: UnsafeMutablePointer<Double>
    ) {
        NetworkKernels.layerNormBackward(
            dy, normalized: normalized, inverseDeviation: inverseDeviation, rows: rows, width: width, gain: gain, into: dx,
            gainGradient: gainGradient, biasGradient: biasGradient)
    }

    public static func causalSoftmax(_ scores: UnsafeMutablePointer<Double>, size: Int, leadingDimension: Int) {
        NetworkKernels.causalSoftmax(scores, size: size, leadingDimension: leadingDimension)
    }

    public static func causalSoftmaxBackward(
        _ probabilities: UnsafePointer<Double>, _ gradient: UnsafeMutablePointer<Double>, size: Int, leadingDimension: Int
    ) {
        NetworkKernels.causalSoftmaxBackward(probabilities, gradient, size: size, leadingDimension: leadingDimension)
    }

    public static func errorFunction(_ x: Double) -> Double { erf(x) }

    public static func exponential(_ x: Double) -> Double { exp(x) }
}
