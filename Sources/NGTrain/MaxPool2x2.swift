import NGPlus

/// 2×2 max pooling with stride 2 over channel-major samples (c × h × w, h and w even); keeps
/// the position of each maximum for backward.
public final class MaxPool2x2<Scalar: BLASScalar>: NetworkLayer {
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
        let (batch, oh, ow, inLength, outLength) = (x.rows, height / 2, width / 2, channels * height * width, outputLength)
        ensureShape(&output, batch, outLength)
        if argmax.count != batch * outLength { argmax = Array(repeating: 0, count: batch * outLength) }
        let (h, w, c) = (height, width, channels)
        x.withUnsafeBufferPointer { px in
            output.withUnsafeMutableBufferPointer { y in
                argmax.withUnsafeMutableBufferPointer { arg in
                    for i in 0..<batch {
                        for ch in 0..<c {
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    var best = ch * h * w + 2 * oy * w + 2 * ox
                                    for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                                        let candidate = ch * h * w + (2 * oy + dy) * w + 2 * ox + dx
                                        if px[i * inLength + candidate] > px[i * inLength + best] { best = candidate }
                                    }
                                    let out = i * outLength + (ch * oh + oy) * ow + ox
                                    y[out] = px[i * inLength + best]
                                    arg[out] = best
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, "MaxPool2x2.backward", "outputGradient")
        let (batch, inLength, outLength) = (dy.rows, channels * height * width, outputLength)
        ensureShape(&inputGradient, batch, inLength)
        dy.withUnsafeBufferPointer { pdy in
            argmax.withUnsafeBufferPointer { arg in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    dx.update(repeating: 0)
                    for i in 0..<batch {
                        for o in 0..<outLength { dx[i * inLength + arg[i * outLength + o]] += pdy[i * outLength + o] }
                    }
                }
            }
        }
        return inputGradient
    }

    public func release() {}
}
