/// The per-sample GFIM of a 2-D convolution (ALGORITHM.md §2a), kernel `c_out × c_in × kh × kw`
/// viewed as W, `c_out × K` with K = `patchSize` (plus a last column for the bias when it is
/// preconditioned too).
///
/// With Ũ_i the unfolded patches of sample i (K × P, and a row of ones for the bias) and dY_i
/// its output gradient of the **mean** loss (`c_out × P`), the per-sample gradient is
/// `dW_i = B·dY_i·Ũ_iᵀ` and, with the reference code's factor `1/(B·√P)`,
///
/// - left, order c_out:  `F_new = (B/√P)·Σ_i (dY_i·Ũ_iᵀ)·(dY_i·Ũ_iᵀ)ᵀ`
/// - right, order K (+1): `F_new = (B/√P)·Σ_i (dY_i·Ũ_iᵀ)ᵀ·(dY_i·Ũ_iᵀ)`
///
/// Per sample: im2col into the builder's workspace, one GEMM for `dY_i·Ũ_iᵀ`, one GEMM per
/// block. Inputs are B × (c_in·H·W), output gradients B × (c_out·P), one sample per row,
/// channel-major.
public struct Conv2dGFIMBuilder<Scalar: BLASScalar>: Sendable {
    /// The input geometry and kernel.
    public let geometry: ConvGeometry
    /// c_out.
    public let outChannels: Int
    /// Whether the bias is the extra last column of W.
    public let bias: Bool
    /// Which GFIM is built.
    public let side: Side
    @usableFromInline var patches: Matrix<Scalar>
    @usableFromInline var sampleGradient: Matrix<Scalar>

    /// - Throws: `invalidArgument` for `outChannels` below 1.
    public init(
        geometry: ConvGeometry, outChannels: Int, bias: Bool, side: Side = .left
    ) throws(NGError) {
        KernelFitWarning.emitOnce()
        guard outChannels >= 1, outChannels <= Int(Int32.max) else {
            throw .invalidArgument(
                operation: "Conv2dGFIMBuilder.init", argument: "outChannels",
                reason: "must be in 1...Int32.max, got \(outChannels)")
        }
        self.geometry = geometry
        self.outChannels = outChannels
        self.bias = bias
        self.side = side
        let rows = geometry.patchSize + (bias ? 1 : 0)
        var patches = Matrix<Scalar>(rows: rows, columns: geometry.positions)
        if bias {
            for p in 0..<geometry.positions { patches[rows - 1, p] = 1 }
        }
        self.patches = patches
        self.sampleGradient = Matrix(rows: outChannels, columns: rows)
    }

    /// The order of the GFIM: c_out (left) or K, plus one with a bias (right).
    @inlinable public var dimension: Int { side == .left ? outChannels : sampleGradient.columns }

    /// `F ← (1−α)·F + α·F_new` from one mini-batch.
    /// - Throws: `emptyMatrix`, `shapeMismatch` (inputs B × (c_in·H·W), outputGradients
    ///   B × (c_out·P), F of order `dimension`), `nonFinite`, `invalidArgument` (α).
    ///   F is untouched on a throw.
    @inlinable
    public mutating func accumulate(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar = 1,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) throws(NGError) {
        let operation = "Conv2dGFIMBuilder.accumulate"
        let positions = geometry.positions
        try x.requireNonEmpty(operation, "inputs")
        try x.requireShape(Shape(x.rows, geometry.inputLength), operation, "inputs")
        try dy.requireShape(Shape(x.rows, outChannels * positions), operation, "outputGradients")
        try GFIM.requireOrder(dimension, of: gfim, operation)
        try GFIM.requireNewWeight(newWeight, operation)
        try x.requireFinite(operation, "inputs")
        try dy.requireFinite(operation, "outputGradients")

        let batch = x.rows
        let scale = newWeight * Scalar(batch) / Scalar(positions).squareRoot()
        let (geometry, outChannels, left) = (self.geometry, self.outChannels, side == .left)
        let width = sampleGradient.columns
        for i in 0..<batch {
            x.withUnsafeBufferPointer { px in
                patches.withUnsafeMutableBufferPointer { pu in
                    geometry.unfold(
                        px.baseAddress! + i * geometry.inputLength, into: pu.baseAddress!,
                        ld: positions)
                }
            }
            dy.withUnsafeBufferPointer { pdy in
                patches.withUnsafeBufferPointer { pu in
                    sampleGradient.withUnsafeMutableBufferPointer { pg in
                        Scalar.gemm(
                            transposeA: false, transposeB: true, m: outChannels, n: width,
                            k: positions, alpha: 1, a: pdy.baseAddress! + i * outChannels * positions,
                            lda: positions, b: pu.baseAddress!, ldb: positions,
                            beta: 0, c: pg.baseAddress!, ldc: width)
                        GFIM.accumulateGram(
                            pg.baseAddress!, rows: outChannels, columns: width, ld: width,
                            overColumns: !left, alpha: scale, beta: i == 0 ? 1 - newWeight : 1,
                            into: &gfim)
                    }
                }
            }
        }
    }
}
