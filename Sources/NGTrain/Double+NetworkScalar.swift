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

    public static func fold(_ geometry: ConvGeometry, _ du: UnsafePointer<Double>, ld: Int, into dx: UnsafeMutablePointer<Double>) {
        NetworkKernels.fold(geometry, du, ld: ld, into: dx)
    }

    public static func maxPool(
        _ x: UnsafePointer<Double>, planes: Int, height: Int, width: Int,
        into y: UnsafeMutablePointer<Double>, argmax: UnsafeMutablePointer<Int>
    ) {
        NetworkKernels.maxPool(x, planes: planes, height: height, width: width, into: y, argmax: argmax)
    }
}
