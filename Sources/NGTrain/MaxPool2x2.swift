import NGPlus

/// 2×2 max pooling with stride 2 over channel-major samples (c × h × w, h and w even); keeps
/// the position of each maximum for backward.
public final class MaxPool2x2<Scalar: NetworkScalar>: NetworkLayer {
    public let channels: Int
    public let height: Int
    public let width: Int
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var argmax: [Int] = []

    /// - Throws: `invalidArgument` for an odd height or width.
    public init(channels: Int, height: Int, width: Int) throws(NGError) {
        guard channels >= 1, height >= 2, width >= 2, height % 2 == 0, width % 2 == 0 else {
            throw .invalidArgument(operation: "MaxPool2x2.init", argument: "shape",
                                   reason: "\(channels)×\(height)×\(width) needs even height and width")
        }
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var outputLength: Int { channels * (height / 2) * (width / 2) }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, channels * height * width), "MaxPool2x2.forward", "input")
        let (batch, outLength) = (x.rows, outputLength)
        ensureShape(&output, batch, outLength)
        if argmax.count != batch * outLength { argmax = Array(repeating: 0, count: batch * outLength) }
        let planes = batch * channels
        let (h, w) = (height, width)
        x.withUnsafeBufferPointer { px in
            output.withUnsafeMutableBufferPointer { y in
                argmax.withUnsafeMutableBufferPointer { arg in
                    Scalar.maxPool(px.baseAddress!, planes: planes, height: h, width: w, into: y.baseAddress!, argmax: arg.baseAddress!)
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, "MaxPool2x2.backward", "outputGradient")
        ensureShape(&inputGradient, dy.rows, channels * height * width)
        dy.withUnsafeBufferPointer { pdy in
            argmax.withUnsafeBufferPointer { arg in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    dx.update(repeating: 0)
                    for o in 0..<pdy.count { dx[arg[o]] += pdy[o] }
                }
            }
        }
        return inputGradient
    }

    public func release() {}
}
