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

    public static func fold(_ geometry: ConvGeometry, _ du: UnsafePointer<Float>, ld: Int, into dx: UnsafeMutablePointer<Float>) {
        NetworkKernels.fold(geometry, du, ld: ld, into: dx)
    }

    public static func maxPool(
        _ x: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
        into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int>
    ) {
        NetworkKernels.maxPool(x, planes: planes, height: height, width: width, into: y, argmax: argmax)
    }
}
