import NGPlus

/// The Gaussian error linear unit `x·Φ(x)`, elementwise (the exact form, with erf), the
/// activation of a Transformer's MLP. Keeps its input for the backward pass.
public final class GELU<Scalar: NetworkScalar>: NetworkLayer {
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        ensureShape(&output, x.rows, x.columns)
        input = x
        x.withView { x in
            output.withMutableView { y in
                let (x, y) = (x.flattened, y.flattened)
                ParallelLoop.forEachChunk(x.count, minimumChunk: 1 << 14) { chunk in
                    Scalar.gelu(x.columns(chunk).base, into: y.columns(chunk).base, count: chunk.count)
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(input.shape, .geluBackward, "outputGradient")
        ensureShape(&inputGradient, dy.rows, dy.columns)
        withViews(dy, input, mutating: &inputGradient) { dy, x, dx in
            let (dy, x, dx) = (dy.flattened, x.flattened, dx.flattened)
            ParallelLoop.forEachChunk(dy.count, minimumChunk: 1 << 14) { chunk in
                Scalar.geluBackward(
                    input: x.columns(chunk).base, outputGradient: dy.columns(chunk).base,
                    into: dx.columns(chunk).base, count: chunk.count)
            }
        }
        return inputGradient
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
    }
}
