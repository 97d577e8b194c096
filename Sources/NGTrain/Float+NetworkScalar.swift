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
        _ x: UnsafePointer<Float>, planes: Range<Int>, height: Int, width: Int, rectify: Bool,
        into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
    ) {
        NetworkKernels.maxPool(x, planes: planes, height: height, width: width, rectify: rectify, into: y, argmax: argmax)
    }

    public static func maxPoolBackward(
        _ dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, outputs: Range<Int>,
        into dx: UnsafeMutablePointer<Float>, inputs: Range<Int>
    ) {
        NetworkKernels.maxPoolBackward(dy, argmax: argmax, outputs: outputs, into: dx, inputs: inputs)
    }
}
