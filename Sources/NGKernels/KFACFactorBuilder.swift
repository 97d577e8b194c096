/// The two Kronecker factors of K-FAC (Martens & Grosse; Grosse & Martens for convolutions),
/// for the K-FAC baseline, from the same inputs and output gradients of the **mean** loss as
/// the per-sample GFIM:
///
/// - dense: `A = (1/B)·X̃ᵀ·X̃` (order n, plus one with a bias) and `G = B·dYᵀ·dY` (order m),
///   the second moments of the inputs and of the per-sample output gradients `B·dy_i`;
/// - conv2d: `A = 1/(B·P)·Σ_i Ũ_i·Ũ_iᵀ` over the unfolded patches and
///   `G = (B/P)·Σ_i dY_i·dY_iᵀ` over output positions.
///
/// Both are updated as `F ← (1−α)·F + α·F_new`. The preconditioned gradient is then
/// `(G + s·I)⁻¹·∇W̃·(A + s·I)⁻¹`.
public struct KFACFactorBuilder<Scalar: BLASScalar>: Sendable {
    /// nil for a dense layer.
    public let geometry: ConvGeometry?
    /// m or c_out: the order of G.
    public let outputs: Int
    /// n or c_in·kh·kw, without the bias.
    public let inputs: Int
    public let bias: Bool
    /// X̃ (dense, B × (n+1)) or the patches Ũ_i of `stackedSamples` samples side by side
    /// (conv, (K+1) × (S·P)).
    @usableFromInline var workspace: Matrix<Scalar>
    /// Samples S whose patches are unfolded together and, when more than one, summed into A by
    /// one SYRK: `Σ_i Ũ_i·Ũ_iᵀ` over a stack is the Gram of `[Ũ_1 … Ũ_S]` over its columns.
    /// A convolution whose A has an order of at least 128 stacks about 2 MiB of Float patches
    /// (at most 64 samples); a smaller A is summed by one GEMM a sample, which ran faster than
    /// SYRK at such orders (measured, CNN on 2 threads: order 10, 0.2 ms a batch of 128 against
    /// 0.9 stacked; order 289, 25 ms against 20). 1 for a dense layer.
    public let stackedSamples: Int
    /// A convolution's output factor from the samples of each core but the first, c_out² values
    /// a row (`accumulateOutputFactorOfSamples`); no rows for a dense layer.
    @usableFromInline var outputPartials: Matrix<Scalar>

    /// A dense layer's factors.
    public init(outputs: Int, inputs: Int, bias: Bool, batchCapacity: Int = 1) throws(NGError) {
        KernelFitWarning.emitOnce()
        for (name, value) in [("outputs", outputs), ("inputs", inputs), ("batchCapacity", batchCapacity)] where value < 1 {
            throw .invalidArgument(operation: .kfacFactorBuilderInit, argument: name, reason: "must be at least 1, got \(value)")
        }
        geometry = nil
        self.outputs = outputs
        self.inputs = inputs
        self.bias = bias
        workspace = Matrix(rows: batchCapacity, columns: inputs + (bias ? 1 : 0), repeating: 1)
        stackedSamples = 1
        outputPartials = Matrix(rows: 0, columns: 0)
    }

    /// A conv2d layer's factors.
    public init(geometry: ConvGeometry, outChannels: Int, bias: Bool) throws(NGError) {
        KernelFitWarning.emitOnce()
        try NGError.Operation.kfacFactorBuilderInit.require(
            outChannels >= 1, "outChannels", "must be at least 1, got \(outChannels)")
        self.geometry = geometry
        outputs = outChannels
        inputs = geometry.patchSize
        self.bias = bias
        let order = geometry.patchSize + (bias ? 1 : 0)
        stackedSamples = order < 128 ? 1 : Swift.max(1, Swift.min(64, (1 << 19) / (order * geometry.positions)))
        workspace = Matrix(rows: order, columns: stackedSamples * geometry.positions, repeating: 1)
        outputPartials = Matrix(rows: Swift.max(0, ParallelLoop.threadCount - 1), columns: outChannels * outChannels)
    }

    /// The order of A.
    @inlinable public var inputOrder: Int { inputs + (bias ? 1 : 0) }

    /// `A ← (1−α)·A + α·A_new`, `G ← (1−α)·G + α·G_new` from one mini-batch.
    /// - Throws: `emptyMatrix`, `shapeMismatch`, `nonFinite`, `invalidArgument` (α);
    ///   A and G are untouched on a throw.
    @inlinable
    public mutating func accumulate(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar = 1,
        inputFactor a: inout BlockDiagonalMatrix<Scalar>, outputFactor g: inout BlockDiagonalMatrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.kfacFactorBuilderAccumulate
        let positions = geometry?.positions ?? 1
        try x.requireNonEmpty(operation, "inputs")
        try x.requireShape(Shape(x.rows, geometry?.inputLength ?? inputs), operation, "inputs")
        try dy.requireShape(Shape(x.rows, outputs * positions), operation, "outputGradients")
        try GFIM.requireOrder(inputOrder, of: a, operation)
        try GFIM.requireOrder(outputs, of: g, operation)
        try GFIM.requireNewWeight(newWeight, operation)
        try x.requireFinite(operation, "inputs")
        try dy.requireFinite(operation, "outputGradients")

        accumulateUnchecked(inputs: x, outputGradients: dy, newWeight: newWeight, inputFactor: &a, outputFactor: &g)
    }

    /// `accumulate` without its checks, for callers that validated the arguments.
    @inlinable
    package mutating func accumulateUnchecked(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar,
        inputFactor a: inout BlockDiagonalMatrix<Scalar>, outputFactor g: inout BlockDiagonalMatrix<Scalar>
    ) {
        let positions = geometry?.positions ?? 1
        let batch = x.rows
        let (b, p) = (Scalar(batch), Scalar(positions))
        if let geometry {
            let stacked = stackedSamples > 1
            for first in Swift.stride(from: 0, to: batch, by: stackedSamples) {
                let samples = first..<Swift.min(batch, first + stackedSamples)
                x.withView { x in
                    workspace.withMutableView { u in geometry.unfoldOnAllCores(x.rows(samples), into: u) }
                }
                let keep = first == 0 ? 1 - newWeight : 1
                workspace.withView { u in
                    GFIM.accumulateGram(
                        u.rows(0..<inputOrder).columns(0..<(samples.count * positions)), overColumns: false,
                        alpha: newWeight / (b * p), beta: keep, part: stacked ? .lowerTriangle : .whole, into: &a)
                }
            }
            // Stacked, the Grams wrote lower triangles. One GEMM a sample writes both, each
            // summed in the kernel's own order, which need not be the same (OpenBLAS's
            // `Prescott` kernels differed in the last bit): mirrored too, A is exactly
            // symmetric on any kernel, at the cost of one pass over an order below 128.
            GFIM.mirrorLowerTriangles(of: &a)
            accumulateOutputFactorOfSamples(
                outputGradients: dy, alpha: newWeight * b / p, beta: 1 - newWeight, into: &g)
        } else {
            let width = inputOrder
            if workspace.rows < batch { workspace = Matrix(rows: batch, columns: width, repeating: 1) }
            let n = inputs
            x.withView { x in
                workspace.withMutableView { w in w.rows(0..<batch).columns(0..<n).update(from: x) }
            }
            workspace.withView { w in
                GFIM.accumulateGram(w.rows(0..<batch), overColumns: true, alpha: newWeight / b, beta: 1 - newWeight, into: &a)
            }
            accumulateOutputUnchecked(outputGradients: dy, newWeight: newWeight, into: &g)
        }
    }

    /// A convolution's `G ← β·G + α·Σ_i dY_i·dY_iᵀ` (dY_i: sample i's c_out × P gradients),
    /// the samples split over the cores, each core's sum by one-thread SYRKs into G (the first)
    /// or its row of `outputPartials`, added and mirrored at the end: the per-sample products
    /// (64 × 196 × 64 on the CNN) are too small for OpenBLAS's threads, which ran them at
    /// 67–90 GFLOP/s on two threads of a Zen 4 (the CNN's first convolution: 2.3 ms a batch on
    /// one thread or two; docs/measurements/shampoo-roots-2026-12-06.md). Compiled here for each
    /// scalar (its samples run on threads). A G of several blocks takes one GEMM a sample.
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package mutating func accumulateOutputFactorOfSamples(
        outputGradients dy: Matrix<Scalar>, alpha: Scalar, beta: Scalar, into g: inout BlockDiagonalMatrix<Scalar>
    ) {
        let (c, positions, batch) = (outputs, dy.columns / outputs, dy.rows)
        guard g.blocks.count == 1 else {
            dy.withView { dy in
                for i in 0..<batch {
                    GFIM.accumulateGram(
                        dy.rows(i..<i + 1).reshaped(rows: c, columns: positions), overColumns: false,
                        alpha: alpha, beta: i == 0 ? beta : 1, into: &g)
                }
            }
            return
        }
        // A core takes at least 2²⁰ multiply-adds (as `ConcurrentCalls` starts threads).
        let perSample = c * (c + 1) / 2 * positions
        let cores = Swift.min(outputPartials.rows + 1, batch, Swift.max(1, batch * perSample / (1 << 20)))
        dy.withView { dy in
            outputPartials.withMutableView { partials in
                g.blocks[0].withMutableView { target in
                    ConcurrentCalls.forEach(cores, work: Double(batch * perSample)) { core in
                        let into = core == 0 ? target : partials.rows(core - 1..<core).reshaped(rows: c, columns: c)
                        let samples = (batch * core / cores)..<(batch * (core + 1) / cores)
                        for i in samples {
                            BLAS.syrk(
                                dy.rows(i..<i + 1).reshaped(rows: c, columns: positions), alpha: alpha,
                                beta: i > samples.lowerBound ? 1 : core == 0 ? beta : 0, into: into)
                        }
                    }
                    for core in 1..<cores {
                        BLAS.axpy(1, partials.rows(core - 1..<core).readOnly, into: target.flattened)
                    }
                    target.mirrorLowerTriangle()
                }
            }
        }
    }

    /// A dense layer's `G ← (1−α)·G + α·B·dYᵀdY` alone, beside a low-rank input factor
    /// (`fillInputRows`). Arguments validated by the caller.
    @inlinable
    package func accumulateOutputUnchecked(
        outputGradients dy: Matrix<Scalar>, newWeight: Scalar, into g: inout BlockDiagonalMatrix<Scalar>
    ) {
        precondition(geometry == nil, "a convolution's output factor is summed over its positions")
        let b = Scalar(dy.rows)
        dy.withView { dy in
            GFIM.accumulateGram(dy, overColumns: true, alpha: newWeight * b, beta: 1 - newWeight, into: &g)
        }
    }

    /// A dense layer's input factor in low-rank form, for a `WoodburyInverse`: the rows
    /// `u_i = x̃_i/B` of `A_new = B·UᵀU = (1/B)·X̃ᵀX̃` (the factor a running average of 1 keeps).
    /// Scaled by 1/B so that a data-parallel run's rows, each process's scaled by its share of
    /// the batch `B_r/B`, are the whole batch's `x̃_i/B`. Inputs validated by the caller.
    @inlinable
    package func fillInputRows(inputs x: Matrix<Scalar>, into rows: inout FactorRows<Scalar>) {
        precondition(geometry == nil && rows.width == inputOrder, "low-rank input rows are a dense layer's")
        let (batch, n, withBias) = (x.rows, inputs, bias)
        let scale = 1 / Scalar(batch)
        rows.fill(rows: batch) { u in
            x.withView { x in u.columns(0..<n).update(from: x) }
            if withBias { u.columns(n..<n + 1).fill(with: 1) }
            BLAS.scal(scale, u.flattened)
        }
    }
}
