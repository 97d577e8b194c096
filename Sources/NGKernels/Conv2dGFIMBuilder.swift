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
/// The per-sample gradients are formed transposed, `dW_iᵀ = Ũ_i·dY_iᵀ` (width × c_out), a
/// tile product on one thread (`BLASScalar.tileProduct`, with dY_i transposed first), the
/// samples split over the cores, each thread unfolding its sample's patches into a scratch of its
/// own where they stay in cache. `stackedSamples` of them are laid out side by side (right GFIM)
/// or one above the other (left), and the stack's Gram is one SYRK per block:
/// `Σ_i dW_iᵀ·dW_i` is the Gram of `[dW_1ᵀ … dW_Sᵀ]` over its rows, `Σ_i dW_i·dW_iᵀ` that of the
/// stack over its columns. The blocks' upper triangles are mirrored once, after the last stack.
/// (With one OpenBLAS GEMM a sample for `dY_i·Ũ_iᵀ`, over patches unfolded for the whole
/// stack, the CNN's second convolution's optimizer row took 19–21 ms a step with statistics every
/// step, against 15 ms on Zen 4 with 2 threads (docs/measurements/cnn-by-sample-2026-12-06.md);
/// one Gram GEMM per sample ran far below the machine's GEMM rate.) Inputs
/// are B × (c_in·H·W), output gradients B × (c_out·P), one sample per row, channel-major.
public struct Conv2dGFIMBuilder<Scalar: BLASScalar>: Sendable {
    /// The input geometry and kernel.
    public let geometry: ConvGeometry
    /// c_out.
    public let outChannels: Int
    /// Whether the bias is the extra last column of W.
    public let bias: Bool
    /// Which GFIM is built.
    public let side: Side
    /// Each thread's Ũ_i (width × P, the last row ones with a bias) and, after it, dY_iᵀ
    /// (P × c_out): a row a thread, `slots` rows.
    @usableFromInline var scratch: Matrix<Scalar>
    /// The threads a stack's samples are split over: `scratch`'s rows.
    @usableFromInline let slots: Int
    /// Up to `stackedSamples` transposed per-sample gradients: (S·width) × c_out (left) or
    /// width × (S·c_out) (right).
    @usableFromInline var sampleGradients: Matrix<Scalar>
    /// The columns of one per-sample gradient: K, plus one with a bias.
    @usableFromInline let width: Int
    /// Samples whose gradients are stacked before a Gram GEMM.
    public let stackedSamples: Int

    /// A builder for `outChannels` filters over `geometry`, the bias as an extra column when
    /// `bias`, on `side`. `stackedSamples` samples have their gradients stacked for one Gram;
    /// nil takes about 1 MiB of Float gradients (at most 64 samples, at least one). The samples
    /// of a stack are split over as many threads as OpenBLAS uses now.
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
        self.stackedSamples = stackedSamples ?? Swift.max(1, Swift.min(64, byGradients))
        let stack = self.stackedSamples
        let (stackValues, stackOverflow) = sampleValues.multipliedReportingOverflow(by: stack)
        let (scratchValues, scratchOverflow) = (rows + outChannels).multipliedReportingOverflow(by: geometry.positions)
        guard !overflow, !stackOverflow, !scratchOverflow, stackValues <= Int(Int32.max),
              scratchValues <= Int(Int32.max) else {
            throw .invalidArgument(
                operation: .conv2dGFIMBuilderInit, argument: "stackedSamples",
                reason: "\(stack) stacked samples (\(outChannels)×\(rows) gradient and \(samplePatches) patch values each)"
                    + " exceed Int32 sizes")
        }
        slots = Swift.max(1, ParallelLoop.threadCount)
        scratch = Matrix<Scalar>(rows: slots, columns: scratchValues, repeating: 1)
        sampleGradients = side == .left
            ? Matrix(rows: stack * rows, columns: outChannels)
            : Matrix(rows: rows, columns: stack * outChannels)
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

    /// `accumulate` without its checks, for callers that validated the arguments. Compiled
    /// here for each scalar: its loop over samples runs on OpenBLAS's threads.
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package mutating func accumulateUnchecked(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) {
        let (geometry, c, width, left, slots) = (self.geometry, outChannels, self.width, side == .left, self.slots)
        let (p, batch) = (geometry.positions, x.rows)
        let scale = newWeight * Scalar(batch) / Scalar(p).squareRoot()
        // A thread takes at least 2²⁰ multiply-adds: below, handing work over costs more than it
        // saves (and a small layer's statistics stay on the calling thread).
        let minimumSamples = Swift.max(1, (1 << 20) / Swift.max(1, width * c * p))
        for first in Swift.stride(from: 0, to: batch, by: stackedSamples) {
            let count = Swift.min(stackedSamples, batch - first)
            withViews(x, dy, mutating: &scratch) { x, dy, scratch in
                sampleGradients.withMutableView { g in
                    // dW_iᵀ = Ũ_i·dY_iᵀ: below the others (left) or beside them (right).
                    ParallelLoop.forEachNumberedChunk(
                        count, minimumChunk: minimumSamples, maximumChunks: slots
                    ) { slot, samples in
                        let u = scratch.base + slot * scratch.leadingDimension
                        let dyT = u + width * p
                        for s in samples {
                            let i = first + s
                            geometry.unfold(x.base + i * x.leadingDimension, into: u, ld: p)
                            Scalar.transpose(
                                dy.base + i * dy.leadingDimension, rows: c, columns: p, leadingDimension: p, into: dyT)
                            let target = left ? g.base + s * width * c : g.base + s * c
                            Scalar.tileProduct(
                                rows: width, columns: c, inner: 0..<p, a: u, rowStride: p, innerStride: 1, b: dyT, ldb: c,
                                alpha: 1, beta: 0, into: target, ldc: g.leadingDimension)
                        }
                    }
                }
            }
            sampleGradients.withView { g in
                let used = left ? g.rows(0..<(count * width)) : g.columns(0..<(count * c))
                GFIM.accumulateGram(
                    used, overColumns: left, alpha: scale, beta: first == 0 ? 1 - newWeight : 1, part: .lowerTriangle,
                    into: &gfim)
            }
        }
        GFIM.mirrorLowerTriangles(of: &gfim)
    }
}
