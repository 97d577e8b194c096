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
        _ x: UnsafePointer<Double>, planes: Range<Int>, height: Int, width: Int, rectify: Bool,
        into y: UnsafeMutablePointer<Double>, argmax: UnsafeMutablePointer<Int32>
    ) {
        NetworkKernels.maxPool(x, planes: planes, height: height, width: width, rectify: rectify, into: y, argmax: argmax)
    }

    public static func maxPoolBackward(
        _ dy: UnsafePointer<Double>, argmax: UnsafePointer<Int32>, outputs: Range<Int>,
        into dx: UnsafeMutablePointer<Double>, inputs: Range<Int>
    ) {
        NetworkKernels.maxPoolBackward(dy, argmax: argmax, outputs: outputs, into: dx, inputs: inputs)
    }
}
