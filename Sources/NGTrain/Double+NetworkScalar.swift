import Foundation
import NGPlus

/// `Double` runs the training stack's loops compiled for Double (see `NetworkScalar`); its
/// transcendental loops are `NetworkKernels`' generic ones over libm's `erf` and `exp`.
extension Double: NetworkScalar {
    public static func errorFunction(_ x: Double) -> Double { erf(x) }

    public static func exponential(_ x: Double) -> Double { exp(x) }

    public static func gelu(
        _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, cumulative: UnsafeMutablePointer<Double>,
        count: Int
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
        for i in 0..<count { y[i] = exp(x[i] - shift) }
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
}
