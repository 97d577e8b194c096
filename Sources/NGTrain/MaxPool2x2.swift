import NGPlus

/// 2×2 max pooling with stride 2 over channel-major samples (c × h × w, h and w even); keeps
/// the position of each maximum for backward.
///
/// With `rectify`, each pooled value is `max(0, ·)`: a ReLU before the pooling, fused. The
/// function and its gradient are exactly those of ReLU then pooling (max is monotone, and a
/// window whose maximum is not positive passes no gradient either way), at one pass over the
/// activations instead of two, on a quarter of the values for the ReLU's part.
public final class MaxPool2x2<Scalar: NetworkScalar>: NetworkLayer {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let rectify: Bool
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// The input offset of each output's maximum, or −1 where a rectified output is 0.
    var argmax: [Int32] = []

    /// - Throws: `invalidArgument` for an odd height or width, or a sample of 2³¹ values or more.
    public init(channels: Int, height: Int, width: Int, rectify: Bool = false) throws(NGError) {
        guard channels >= 1, height >= 2, width >= 2, height % 2 == 0, width % 2 == 0,
              channels.multipliedReportingOverflow(by: height * width).partialValue < Int(Int32.max),
              !channels.multipliedReportingOverflow(by: height * width).overflow
        else {
            throw .invalidArgument(operation: "MaxPool2x2.init", argument: "shape",
                                   reason: "\(channels)×\(height)×\(width) needs even height and width and fewer than 2³¹ values")
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.rectify = rectify
    }

    public var outputLength: Int { channels * (height / 2) * (width / 2) }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, channels * height * width), "MaxPool2x2.forward", "input")
        let (batch, outLength) = (x.rows, outputLength)
        ensureShape(&output, batch, outLength)
        if argmax.count != batch * outLength { argmax = Array(repeating: 0, count: batch * outLength) }
        let rectify = self.rectify
        let planes = batch * channels
        let (h, w) = (height, width)
        x.withUnsafeBufferPointer { px in
            output.withUnsafeMutableBufferPointer { y in
                argmax.withUnsafeMutableBufferPointer { arg in
                    ParallelLoop.forEachChunk(planes, minimumChunk: 64) { chunk in
                        Scalar.maxPool(px.baseAddress!, planes: chunk, height: h, width: w, rectify: rectify,
                                       into: y.baseAddress!, argmax: arg.baseAddress!)
                    }
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
                    let (inputPlane, outputPlane) = (height * width, height * width / 4)
                    ParallelLoop.forEachChunk(dy.rows * channels, minimumChunk: 64) { planes in
                        Scalar.maxPoolBackward(
                            pdy.baseAddress!, argmax: arg.baseAddress!,
                            outputs: (planes.lowerBound * outputPlane)..<(planes.upperBound * outputPlane),
                            into: dx.baseAddress!,
                            inputs: (planes.lowerBound * inputPlane)..<(planes.upperBound * inputPlane))
                    }
                }
            }
        }
        return inputGradient
    }

    public func release() {}
}
