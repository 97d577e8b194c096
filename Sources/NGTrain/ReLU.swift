import NGPlus

/// `max(0, x)`, elementwise.
public final class ReLU<Scalar: NetworkScalar>: NetworkLayer {
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        forEachChunk(x, into: &output, minimumChunk: 1 << 15) { NetworkKernels.relu($0, into: $1, count: $2) }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .reluBackward, "outputGradient")
        forEachChunk(output, dy, into: &inputGradient, minimumChunk: 1 << 15) {
            NetworkKernels.reluBackward(output: $0, outputGradient: $1, into: $2, count: $3)
        }
        return inputGradient
    }

    public func release() {}
}
