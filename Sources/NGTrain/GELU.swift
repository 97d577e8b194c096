import NGPlus

/// The Gaussian error linear unit `x·Φ(x)`, elementwise (the exact form, with erf), the
/// activation of a Transformer's MLP. Keeps its input and Φ(x) for the backward pass, which so
/// computes one exponential a value instead of an error function and an exponential.
public final class GELU<Scalar: NetworkScalar>: NetworkLayer {
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var cumulative = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// Values a core takes at the least: below, one core does it all.
    static var minimumChunk: Int { 1 << 14 }

    public init() {}

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        input = x
        ensureShape(&output, x.rows, x.columns)
        ensureShape(&cumulative, x.rows, x.columns)
        x.withView { x in
            output.withMutableView { y in
                cumulative.withMutableView { phi in
                    let (x, y, phi) = (x.flattened, y.flattened, phi.flattened)
                    ParallelLoop.forEachChunk(x.count, minimumChunk: Self.minimumChunk) { chunk in
                        Scalar.gelu(
                            x.columns(chunk).base, into: y.columns(chunk).base, cumulative: phi.columns(chunk).base,
                            count: chunk.count)
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(input.shape, .geluBackward, "outputGradient")
        ensureShape(&inputGradient, dy.rows, dy.columns)
        withViews(input, dy, mutating: &inputGradient) { x, dy, dx in
            cumulative.withView { phi in
                let (x, dy, dx, phi) = (x.flattened, dy.flattened, dx.flattened, phi.flattened)
                ParallelLoop.forEachChunk(x.count, minimumChunk: Self.minimumChunk) { chunk in
                    Scalar.geluBackward(
                        input: x.columns(chunk).base, cumulative: phi.columns(chunk).base,
                        outputGradient: dy.columns(chunk).base, into: dx.columns(chunk).base, count: chunk.count)
                }
            }
        }
        return inputGradient
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
    }
}
