import NGPlus

/// The Gaussian error linear unit `x·Φ(x)`, elementwise (the exact form, with erf), the
/// activation of a Transformer's MLP. Keeps its input for the backward pass.
public final class GELU<Scalar: NetworkScalar>: NetworkLayer {
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        input = x
        forEachChunk(x, into: &output, minimumChunk: 1 << 14) { Scalar.gelu($0, into: $1, count: $2) }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(input.shape, .geluBackward, "outputGradient")
        forEachChunk(input, dy, into: &inputGradient, minimumChunk: 1 << 14) {
            Scalar.geluBackward(input: $0, outputGradient: $1, into: $2, count: $3)
        }
        return inputGradient
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
    }
}
