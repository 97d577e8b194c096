import NGPlus

/// The mean of each channel's `positions` values (a convolution's H·W pixels): sample-major
/// rows `B × (channels·positions)` in, `B × channels` out, a ResNet's last pooling. Backward:
/// every position of a channel gets `dy/positions`. Both are `NetworkScalar` kernels over the
/// `B·channels` planes (`NetworkKernels.averagePool`): a GEMM against ones would do, but
/// OpenBLAS's small-matrix kernel allocates for that shape on every call.
public final class GlobalAveragePool<Scalar: NetworkScalar>: NetworkLayer {
    public let channels: Int
    public let positions: Int
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` for a size below 1 or rows of more than `Int32.max` values.
    public init(channels: Int, positions: Int) throws(NGError) {
        let (width, overflow) = channels.multipliedReportingOverflow(by: positions)
        try NGError.Operation.globalAveragePoolInit.require(
            channels >= 1 && positions >= 1 && !overflow && width <= Int(Int32.max), "channels, positions",
            "must be at least 1 and make fewer than 2³¹ values a row, got \(channels) × \(positions)")
        self.channels = channels
        self.positions = positions
    }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, channels * positions), .globalAveragePoolForward, "input")
        let (planes, positions) = (x.rows * channels, positions)
        ensureShape(&output, x.rows, channels)
        x.withView { x in
            output.withMutableView { y in NetworkKernels.averagePool(x.base, planes: planes, positions: positions, into: y.base) }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .globalAveragePoolBackward, "outputGradient")
        let (planes, positions) = (dy.rows * channels, positions)
        ensureShape(&inputGradient, dy.rows, channels * positions)
        dy.withView { dy in
            inputGradient.withMutableView { dx in
                NetworkKernels.averagePoolBackward(dy.base, planes: planes, positions: positions, into: dx.base)
            }
        }
        return inputGradient
    }

    public func release() {}
}
