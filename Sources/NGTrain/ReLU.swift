import NGPlus

/// `max(0, x)`, elementwise.
public final class ReLU<Scalar: NetworkScalar>: NetworkLayer {
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init() {}

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        ensureShape(&output, x.rows, x.columns)
        x.withUnsafeBufferPointer { px in
            output.withUnsafeMutableBufferPointer { y in
                ParallelLoop.forEachChunk(px.count, minimumChunk: 1 << 15) { chunk in
                    Scalar.relu(px.baseAddress! + chunk.lowerBound, into: y.baseAddress! + chunk.lowerBound, count: chunk.count)
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, "ReLU.backward", "outputGradient")
        ensureShape(&inputGradient, dy.rows, dy.columns)
        dy.withUnsafeBufferPointer { pdy in
            output.withUnsafeBufferPointer { y in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    ParallelLoop.forEachChunk(pdy.count, minimumChunk: 1 << 15) { chunk in
                        let start = chunk.lowerBound
                        Scalar.reluBackward(output: y.baseAddress! + start, outputGradient: pdy.baseAddress! + start,
                                            into: dx.baseAddress! + start, count: chunk.count)
                    }
                }
            }
        }
        return inputGradient
    }

    public func release() {}
}
