import NGPlus

/// A 2-D convolution over channel-major samples (one per row: c_in × H × W), by im2col and one
/// GEMM per sample, its parameter `W̃ = [W | b]` (c_out × (c_in·kh·kw + 1)), He-initialised.
/// Backward forms the weight gradient `Σ_i dY_i·Ũ_iᵀ` (NG+ preconditions it and also takes
/// the per-sample statistics from X and dY) and the input gradient by col2im.
public final class Conv2d<Scalar: BLASScalar>: TrainableLayer {
    public let geometry: ConvGeometry
    public let outChannels: Int
    public var weight: Matrix<Scalar>
    public var handle: LayerHandle?
    public let computesInputGradient: Bool
    var patches: Matrix<Scalar>
    var patchGradient: Matrix<Scalar>
    var gradient: Matrix<Scalar>
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var outputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    public init(geometry: ConvGeometry, outChannels: Int, computesInputGradient: Bool = true, using generator: inout SeededGenerator) {
        self.geometry = geometry
        self.outChannels = outChannels
        self.computesInputGradient = computesInputGradient
        let k = geometry.patchSize
        let scale = (2 / Double(k)).squareRoot()
        weight = Matrix(rows: outChannels, columns: k + 1) { _, j in j < k ? Scalar(scale * normal(using: &generator)) : 0 }
        patches = Matrix(rows: k + 1, columns: geometry.positions, repeating: 1)
        patchGradient = Matrix(rows: k, columns: geometry.positions)
        gradient = Matrix(rows: outChannels, columns: k + 1)
    }

    public var spec: LayerSpec { .conv2d(geometry: geometry, outChannels: outChannels, bias: true) }

    /// c_out · P values per sample.
    public var outputLength: Int { outChannels * geometry.positions }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, geometry.inputLength), "Conv2d.forward", "input")
        let (batch, p, width, c) = (x.rows, geometry.positions, geometry.patchSize + 1, outChannels)
        ensureShape(&output, batch, outputLength)
        input = x
        for i in 0..<batch {
            unfold(sample: i)
            weight.withUnsafeBufferPointer { w in
                patches.withUnsafeBufferPointer { u in
                    output.withUnsafeMutableBufferPointer { y in
                        Scalar.gemm(transposeA: false, transposeB: false, m: c, n: p, k: width, alpha: 1,
                                    a: w.baseAddress!, lda: width, b: u.baseAddress!, ldb: p, beta: 0,
                                    c: y.baseAddress! + i * c * p, ldc: p)
                    }
                }
            }
        }
        return output
    }

    /// im2col of sample i of `input` into the first patchSize rows of `patches`.
    func unfold(sample i: Int) {
        let length = geometry.inputLength
        let p = geometry.positions
        input.withUnsafeBufferPointer { px in
            patches.withUnsafeMutableBufferPointer { u in
                geometry.unfold(px.baseAddress! + i * length, into: u.baseAddress!, ld: p)
            }
        }
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(Shape(input.rows, outputLength), "Conv2d.backward", "outputGradient")
        outputGradient = dy
        let (batch, p, k, c) = (dy.rows, geometry.positions, geometry.patchSize, outChannels)
        if computesInputGradient {
            ensureShape(&inputGradient, batch, geometry.inputLength)
        }
        for i in 0..<batch {
            unfold(sample: i)
            dy.withUnsafeBufferPointer { pdy in
                patches.withUnsafeBufferPointer { u in
                    gradient.withUnsafeMutableBufferPointer { g in
                        Scalar.gemm(transposeA: false, transposeB: true, m: c, n: k + 1, k: p, alpha: 1,
                                    a: pdy.baseAddress! + i * c * p, lda: p, b: u.baseAddress!, ldb: p,
                                    beta: i == 0 ? 0 : 1, c: g.baseAddress!, ldc: k + 1)
                    }
                }
            }
            guard computesInputGradient else { continue }
            dy.withUnsafeBufferPointer { pdy in
                weight.withUnsafeBufferPointer { w in
                    patchGradient.withUnsafeMutableBufferPointer { du in
                        Scalar.gemm(transposeA: true, transposeB: false, m: k, n: p, k: c, alpha: 1,
                                    a: w.baseAddress!, lda: k + 1, b: pdy.baseAddress! + i * c * p, ldb: p,
                                    beta: 0, c: du.baseAddress!, ldc: p)
                    }
                }
            }
            let length = geometry.inputLength
            patchGradient.withUnsafeBufferPointer { du in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    geometry.fold(du.baseAddress!, ld: p, into: dx.baseAddress! + i * length)
                }
            }
        }
        return inputGradient
    }

    public func update<O: LayerOptimizer>(with optimizer: inout O) throws(NGError) where O.Scalar == Scalar {
        let layer = handle!
        try optimizer.observe(layer, inputs: input, outputGradients: outputGradient)
        try optimizer.step(layer, weight: &weight, gradient: gradient)
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
        outputGradient = Matrix(rows: 0, columns: 0)
    }
}
