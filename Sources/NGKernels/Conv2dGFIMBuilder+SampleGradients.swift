extension Conv2dGFIMBuilder {
    /// `F ← (1−α)·F + α·F_new` from per-sample gradients the layer's backward pass already
    /// formed: `sampleGradients` is (K + 1) × (B·c_out), sample i's `dW̃_iᵀ = Ũ_i·dY_iᵀ` (of the
    /// mean loss, the bias's row last) in columns i·c_out..<(i+1)·c_out. Only the Gram is left:
    /// on the right one SYRK of its first `width` rows (the bias's dropped when the bias is not
    /// preconditioned), on the left the samples copied a stack at a time one above the other.
    /// The same F as `accumulate(inputs:outputGradients:newWeight:into:)` on the batch they
    /// came from, to rounding.
    /// - Throws: `emptyMatrix`, `shapeMismatch` (K + 1 rows, a multiple of c_out columns; F of
    ///   order `dimension`), `nonFinite`, `invalidArgument` (α). F is untouched on a throw.
    public mutating func accumulate(
        sampleGradients g: Matrix<Scalar>, newWeight: Scalar = 1, into gfim: inout BlockDiagonalMatrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.conv2dGFIMBuilderAccumulate
        try Self.validate(sampleGradients: g, geometry: geometry, outChannels: outChannels, operation)
        try GFIM.requireOrder(dimension, of: gfim, operation)
        try GFIM.requireNewWeight(newWeight, operation)
        accumulateUnchecked(sampleGradients: g, newWeight: newWeight, into: &gfim)
    }

    /// Throws `emptyMatrix`, `shapeMismatch` or `nonFinite` unless `g` is the per-sample
    /// gradients of a batch of at least one sample for `outChannels` filters over `geometry`:
    /// (K + 1) × (B·c_out), finite.
    public static func validate(
        sampleGradients g: Matrix<Scalar>, geometry: ConvGeometry, outChannels: Int, _ operation: NGError.Operation
    ) throws(NGError) {
        try g.requireNonEmpty(operation, "sampleGradients")
        let samples = Swift.max(1, g.columns / outChannels)
        try g.requireShape(Shape(geometry.patchSize + 1, samples * outChannels), operation, "sampleGradients")
        try g.requireFinite(operation, "sampleGradients")
    }

    /// `accumulate(sampleGradients:newWeight:into:)` without its checks.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package mutating func accumulateUnchecked(
        sampleGradients g: Matrix<Scalar>, newWeight: Scalar, into gfim: inout BlockDiagonalMatrix<Scalar>
    ) {
        let (c, width, batch) = (outChannels, self.width, g.columns / outChannels)
        let scale = newWeight * Scalar(batch) / Scalar(geometry.positions).squareRoot()
        g.withView { g in
            guard side == .left else {
                GFIM.accumulateGram(
                    g.rows(0..<width), overColumns: false, alpha: scale, beta: 1 - newWeight, part: .lowerTriangle,
                    into: &gfim)
                return
            }
            for first in Swift.stride(from: 0, to: batch, by: stackedSamples) {
                let count = Swift.min(stackedSamples, batch - first)
                sampleGradients.withMutableView { stack in
                    for s in 0..<count {
                        stack.rows(s * width..<(s + 1) * width)
                            .update(from: g.rows(0..<width).columns((first + s) * c..<(first + s + 1) * c))
                    }
                }
                sampleGradients.withView { stack in
                    GFIM.accumulateGram(
                        stack.rows(0..<(count * width)), overColumns: true, alpha: scale,
                        beta: first == 0 ? 1 - newWeight : 1, part: .lowerTriangle, into: &gfim)
                }
            }
        }
        GFIM.mirrorLowerTriangles(of: &gfim)
    }
}
