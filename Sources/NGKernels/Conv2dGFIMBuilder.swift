/// The per-sample GFIM of a 2-D convolution (docs/ALGORITHM.md §2a), kernel `c_out × c_in × kh × kw`
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
/// A stack of `stackedSamples` samples at a time: im2col of all of them into the builder's
/// workspace, split over the cores, then one GEMM a sample for `dY_i·Ũ_iᵀ`, into a stack of
/// per-sample gradients (side by side for the left GFIM, one above the other for the right),
/// whose Gram matrix is then one SYRK per block: `Σ_i dW_i·dW_iᵀ` is the Gram of
/// `[dW_1 … dW_S]` over its columns, `Σ_i dW_iᵀ·dW_i` that of the stack over its rows. The
/// blocks' upper triangles are mirrored once, after the last stack. (One Gram GEMM per sample,
/// with an inner dimension of c_out or P, ran far below the machine's GEMM rate.) Inputs are
/// B × (c_in·H·W), output gradients B × (c_out·P), one sample per row, channel-major.
public struct Conv2dGFIMBuilder<Scalar: BLASScalar>: Sendable {
    /// The input geometry and kernel.
    public let geometry: ConvGeometry
    /// c_out.
    public let outChannels: Int
    /// Whether the bias is the extra last column of W.
    public let bias: Bool
    /// Which GFIM is built.
    public let side: Side
    /// Ũ of a stack of samples: K (+1) × (S·P), the last row ones with a bias.
    @usableFromInline var patches: Matrix<Scalar>
    /// Up to `stackedSamples` per-sample gradients: c_out × (S·width) (left) or
    /// (S·c_out) × width (right).
    @usableFromInline var sampleGradients: Matrix<Scalar>
    /// The columns of one per-sample gradient: K, plus one with a bias.
    @usableFromInline let width: Int
    /// Samples whose gradients are stacked before a Gram GEMM.
    public let stackedSamples: Int

    /// A builder for `outChannels` filters over `geometry`, the bias as an extra column when
    /// `bias`, on `side`. `stackedSamples` samples are unfolded together and their gradients
    /// stacked for one Gram; nil takes about 1 MiB of gradients (at most 64 samples, and no more
    /// than about 8 MiB of Float patches, or one sample's).
    /// - Throws: `invalidArgument` for `outChannels` or `stackedSamples` below 1.
    public init(
        geometry: ConvGeometry, outChannels: Int, bias: Bool, side: Side = .left, stackedSamples: Int? = nil
    ) throws(NGError) {
        KernelFitWarning.emitOnce()
        try NGError.Operation.conv2dGFIMBuilderInit.require(
            outChannels >= 1 && outChannels <= Int(Int32.max), "outChannels",
            "must be in 1...Int32.max, got \(outChannels)")
        self.geometry = geometry
        self.outChannels = outChannels
        self.bias = bias
        self.side = side
        let rows = geometry.patchSize + (bias ? 1 : 0)
        width = rows
        // About 1 MiB of stacked gradients: a Gram with an inner dimension in the hundreds.
        let (sampleValues, overflow) = outChannels.multipliedReportingOverflow(by: rows)
        let samplePatches = rows * geometry.positions
        if let stackedSamples, stackedSamples < 1 || stackedSamples > 1 << 16 {
            throw .invalidArgument(
                operation: .conv2dGFIMBuilderInit, argument: "stackedSamples",
                reason: "must be in 1...65536, got \(stackedSamples)")
        }
        let byGradients = overflow ? 1 : (1 << 18) / Swift.max(1, sampleValues)
        self.stackedSamples = stackedSamples ?? Swift.max(1, Swift.min(64, byGradients, (1 << 21) / samplePatches))
        let stack = self.stackedSamples
        let (stackValues, stackOverflow) = sampleValues.multipliedReportingOverflow(by: stack)
        let (patchValues, patchOverflow) = samplePatches.multipliedReportingOverflow(by: stack)
        guard !overflow, !stackOverflow, !patchOverflow, stackValues <= Int(Int32.max),
              stack * (side == .left ? rows : outChannels) <= Int(Int32.max),
              patchValues <= Int(Int32.max) else {
            throw .invalidArgument(
                operation: .conv2dGFIMBuilderInit, argument: "stackedSamples",
                reason: "\(stack) stacked samples (\(outChannels)×\(rows) gradient and \(samplePatches) patch values each)"
                    + " exceed Int32 sizes")
        }
        patches = Matrix<Scalar>(rows: rows, columns: geometry.positions * stack, repeating: 1)
        sampleGradients = side == .left
            ? Matrix(rows: outChannels, columns: stack * rows)
            : Matrix(rows: stack * outChannels, columns: rows)
    }

    /// The order of the GFIM: c_out (left) or K, plus one with a bias (right).
    @inlinable public var dimension: Int { side == .left ? outChannels : width }

    /// `F ← (1−α)·F + α·F_new` from one mini-batch.
    /// - Throws: `emptyMatrix`, `shapeMismatch` (inputs B × (c_in·H·W), outputGradients
    ///   B × (c_out·P), F of order `dimension`), `nonFinite`, `invalidArgument` (α).
    ///   F is untouched on a throw.
    @inlinable
    public mutating func accumulate(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar = 1,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.conv2dGFIMBuilderAccumulate
        let positions = geometry.positions
        try x.requireNonEmpty(operation, "inputs")
        try x.requireShape(Shape(x.rows, geometry.inputLength), operation, "inputs")
        try dy.requireShape(Shape(x.rows, outChannels * positions), operation, "outputGradients")
        try GFIM.requireOrder(dimension, of: gfim, operation)
        try GFIM.requireNewWeight(newWeight, operation)
        try x.requireFinite(operation, "inputs")
        try dy.requireFinite(operation, "outputGradients")

        accumulateUnchecked(inputs: x, outputGradients: dy, newWeight: newWeight, into: &gfim)
    }

    /// `accumulate` without its checks, for callers that validated the arguments.
    @inlinable
    package mutating func accumulateUnchecked(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) {
        let positions = geometry.positions
        let batch = x.rows
        let scale = newWeight * Scalar(batch) / Scalar(positions).squareRoot()
        let (geometry, outChannels, left, width) = (self.geometry, self.outChannels, side == .left, self.width)
        for first in Swift.stride(from: 0, to: batch, by: stackedSamples) {
            let count = Swift.min(stackedSamples, batch - first)
            x.withView { x in
                patches.withMutableView { u in geometry.unfoldOnAllCores(x.rows(first..<first + count), into: u) }
            }
            for slot in 0..<count {
                // dW_i = dY_i·U_iᵀ: beside the others (left) or below them (right).
                withViews(dy, patches, mutating: &sampleGradients) { dy, u, g in
                    let target = left
                        ? g.rows(0..<outChannels).columns((slot * width)..<((slot + 1) * width))
                        : g.rows((slot * outChannels)..<((slot + 1) * outChannels)).columns(0..<width)
                    BLAS.gemm(
                        dy.rows((first + slot)..<(first + slot + 1)).reshaped(rows: outChannels, columns: positions),
                        u.columns((slot * positions)..<((slot + 1) * positions)), transposeB: true,
                        into: target)
                }
            }
            sampleGradients.withView { g in
                let used = g.rows(0..<(left ? outChannels : count * outChannels)).columns(0..<(left ? count * width : width))
                GFIM.accumulateGram(
                    used, overColumns: !left, alpha: scale, beta: first == 0 ? 1 - newWeight : 1, part: .lowerTriangle,
                    into: &gfim)
            }
        }
        GFIM.mirrorLowerTriangles(of: &gfim)
    }
}
