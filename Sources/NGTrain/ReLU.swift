import NGPlus

/// `max(0, x)`, elementwise.
public final class ReLU<Scalar: NetworkScalar>: NetworkLayer {
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        ensureShape(&output, x.rows, x.columns)
        x.withView { x in
            output.withMutableView { y in
                let (x, y) = (x.flattened, y.flattened)
                ParallelLoop.forEachChunk(x.count, minimumChunk: 1 << 15) { chunk in
                    Scalar.relu(x.columns(chunk).base, into: y.columns(chunk).base, count: chunk.count)
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .reluBackward, "outputGradient")
        ensureShape(&inputGradient, dy.rows, dy.columns)
        withViews(dy, output, mutating: &inputGradient) { dy, y, dx in
            let (dy, y, dx) = (dy.flattened, y.flattened, dx.flattened)
            ParallelLoop.forEachChunk(dy.count, minimumChunk: 1 << 15) { chunk in
                Scalar.reluBackward(
                    output: y.columns(chunk).base, outputGradient: dy.columns(chunk).base,
                    into: dx.columns(chunk).base, count: chunk.count)
            }
        }
        return inputGradient
    }

    public func release() {}
}
