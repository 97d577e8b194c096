import Foundation
import NGPlus

/// A dense layer `Y = X·Wᵀ + b`, its parameter one matrix `W̃ = [W | b]` (outputs × (inputs + 1)),
/// He-initialised (bias 0). Forward and input gradient are GEMMs on W̃ in place (leading
/// dimension inputs + 1); the weight gradient is left to the optimizer, which gets X and dY
/// (NG+ then never forms it: the fused apply).
public final class Dense<Scalar: NetworkScalar>: TrainableLayer {
    public let outputs: Int
    public let inputs: Int
    public var weight: Matrix<Scalar>
    public var handle: LayerHandle?
    /// False for a first layer, whose input gradient nobody needs.
    public let computesInputGradient: Bool
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var outputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init(inputs: Int, outputs: Int, computesInputGradient: Bool = true, using generator: inout SeededGenerator) {
        self.inputs = inputs
        self.outputs = outputs
        self.computesInputGradient = computesInputGradient
        let scale = (2 / Double(inputs)).squareRoot()
        weight = Matrix(rows: outputs, columns: inputs + 1) { _, j in
            j < inputs ? Scalar(scale * normal(using: &generator)) : 0
        }
    }

    public var spec: LayerSpec { .dense(outputs: outputs, inputs: inputs, bias: true) }

    public var flops: LayerFlops { .dense(inputs: inputs, outputs: outputs, inputGradient: computesInputGradient) }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, inputs), "Dense.forward", "input")
        let (batch, m, n) = (x.rows, outputs, inputs)
        ensureShape(&output, batch, m)
        input = x
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { w in
                output.withUnsafeMutableBufferPointer { y in
                    Scalar.gemm(transposeA: false, transposeB: true, m: batch, n: m, k: n, alpha: 1,
                                a: px.baseAddress!, lda: n, b: w.baseAddress!, ldb: n + 1, beta: 0, c: y.baseAddress!, ldc: m)
                    for i in 0..<batch {
                        Scalar.axpy(n: m, alpha: 1, x: w.baseAddress! + n, incx: n + 1, y: y.baseAddress! + i * m, incy: 1)
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(Shape(input.rows, outputs), "Dense.backward", "outputGradient")
        outputGradient = dy
        guard computesInputGradient else { return inputGradient }
        let (batch, m, n) = (dy.rows, outputs, inputs)
        ensureShape(&inputGradient, batch, n)
        dy.withUnsafeBufferPointer { pdy in
            weight.withUnsafeBufferPointer { w in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    Scalar.gemm(transposeA: false, transposeB: false, m: batch, n: n, k: m, alpha: 1,
                                a: pdy.baseAddress!, lda: m, b: w.baseAddress!, ldb: n + 1, beta: 0, c: dx.baseAddress!, ldc: n)
                }
            }
        }
        return inputGradient
    }

    public func update<O: LayerOptimizer>(with optimizer: inout O) throws(NGError) where O.Scalar == Scalar {
        let layer = handle!
        try optimizer.observe(layer, inputs: input, outputGradients: outputGradient)
        try optimizer.step(layer, weight: &weight, inputs: input, outputGradients: outputGradient)
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
        outputGradient = Matrix(rows: 0, columns: 0)
    }
}
