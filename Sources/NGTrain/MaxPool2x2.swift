import NGPlus

/// 2×2 max pooling with stride 2 over samples of `channels` planes of `height × width` (even),
/// keeping the position of each maximum for backward. The output is sample-major,
/// `B × (c·h/2·w/2)`; the input is too by default (`B × (c·h·w)`), or channel-major
/// (`c × (B·h·w)`, as `Conv2d(channelMajorOutput:)` leaves it): the pooling then reads each
/// plane where it is, so the layout change costs no pass of its own, and the input gradient
/// is channel-major like the input.
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
    /// True when the input is channel-major.
    public let channelMajorInput: Bool
    var layout: PoolingLayout
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// The input offset of each output's maximum, or −1 where a rectified output is 0.
    var argmax: [Int32] = []

    /// - Throws: `invalidArgument` for an odd height or width, or a sample of 2³¹ values or more.
    public init(channels: Int, height: Int, width: Int, rectify: Bool = false, channelMajorInput: Bool = false) throws(NGError) {
        let (plane, planeOverflow) = height.multipliedReportingOverflow(by: width)
        let (sample, sampleOverflow) = channels.multipliedReportingOverflow(by: plane)
        guard channels >= 1, height >= 2, width >= 2, height % 2 == 0, width % 2 == 0,
              !planeOverflow, !sampleOverflow, sample < Int(Int32.max)
        else {
            throw .invalidArgument(operation: .maxPoolInit, argument: "shape",
                                   reason: "\(channels)×\(height)×\(width) needs even height and width and fewer than 2³¹ values")
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.rectify = rectify
        self.channelMajorInput = channelMajorInput
        layout = PoolingLayout(channels: channels, height: height, width: width, channelMajorBatch: nil)
    }

    public var outputLength: Int { channels * (height / 2) * (width / 2) }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        let plane = height * width
        let batch: Int
        if channelMajorInput {
            try x.requireShape(Shape(channels, x.columns / plane * plane), .maxPoolForward, "input")
            batch = x.columns / plane
        } else {
            try x.requireShape(Shape(x.rows, channels * plane), .maxPoolForward, "input")
            batch = x.rows
        }
        try NGError.Operation.maxPoolForward.require(
            x.rows * x.columns < Int(Int32.max), "input", "\(x.rows)×\(x.columns) has 2³¹ values or more")
        layout = PoolingLayout(channels: channels, height: height, width: width,
                               channelMajorBatch: channelMajorInput ? batch : nil)
        ensureShape(&output, batch, outputLength)
        if argmax.count != batch * outputLength { argmax = Array(repeating: 0, count: batch * outputLength) }
        let (layout, rectify) = (layout, rectify)
        x.withView { x in
            output.withMutableView { y in
                argmax.withUnsafeMutableBufferPointer { arg in
                    guard let argmax = arg.baseAddress else { return }
                    ParallelLoop.forEachChunk(batch, minimumChunk: 2) { samples in
                        Scalar.maxPool(x.base, layout, samples: samples, rectify: rectify, into: y.base, argmax: argmax)
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .maxPoolBackward, "outputGradient")
        let batch = dy.rows
        if channelMajorInput {
            ensureShape(&inputGradient, channels, batch * height * width)
        } else {
            ensureShape(&inputGradient, batch, channels * height * width)
        }
        let layout = layout
        dy.withView { dy in
            argmax.withUnsafeBufferPointer { arg in
                guard let argmax = arg.baseAddress else { return }
                inputGradient.withMutableView { dx in
                    ParallelLoop.forEachChunk(batch, minimumChunk: 2) { samples in
                        NetworkKernels.maxPoolBackward(dy.base, argmax: argmax, layout, samples: samples, into: dx.base)
                    }
                }
            }
        }
        return inputGradient
    }

    public func release() {}
}
