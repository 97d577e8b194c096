import NGPlus

/// Batch normalization of `channels` channels of `positions` values each — one after a dense
/// layer, a convolution's H·W pixels after it — on sample-major rows `B × (channels·positions)`:
/// `y = γ·(x − μ)/√(σ² + ε) + β` per channel. In training (`usesBatchStatistics`, the default)
/// μ and σ² are the batch's, over its `B·positions` values (σ² biased); in evaluation, the running
/// averages. Its parameter is one vector `[γ | β]` (1 × 2·channels; γ = 1, β = 0 at the start),
/// registered as `.vector`: the optimizers give it their first-order step.
///
/// The running averages move with the layer's step, not its forward pass: a training forward
/// stages `(1 − momentum)·running + momentum·batch` (the batch's variance unbiased, ×n/(n − 1),
/// as PyTorch keeps it), and `step(with:)` puts the staged values in use only after the
/// optimizer's step of `[γ | β]` succeeded, so a step that throws leaves them as they were.
/// They start at μ = 0, σ² = 1.
///
/// With `rectify`, the layer is batch normalization and the ReLU after it, `max(0, y)`: the
/// same values as `BatchNorm` then `ReLU` to the bit, forward and backward, without the
/// ReLU's two passes over the activations.
public final class BatchNorm<Scalar: NetworkScalar>: GradientOnlyLayer, BatchStatisticsLayer {
    public let channels: Int
    public let positions: Int
    /// The weight of a batch's statistics in the running averages.
    public let momentum: Double
    public let epsilon: Scalar
    /// Whether a ReLU is fused after the normalization.
    public let rectify: Bool
    /// `[γ | β]`.
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    /// Whether a forward pass normalizes by the batch's statistics (training) or by the running
    /// averages (evaluation: `Model.forward` sets it false while it runs).
    public var usesBatchStatistics = true
    /// The running mean and variance, 1 × channels each.
    public private(set) var runningMean: Matrix<Scalar>
    public private(set) var runningVariance: Matrix<Scalar>
    /// The running averages a step will put in use (those in use until a training forward).
    var stagedMean: Matrix<Scalar>
    var stagedVariance: Matrix<Scalar>
    /// μ and σ² of the last forward pass: the batch's, or the running averages.
    var mean: Matrix<Scalar>
    var variance: Matrix<Scalar>
    /// The last forward's input (until `release`) and 1/√(σ² + ε) per channel: with `mean`, what
    /// the backward pass forms x̂ from again, rather than keep a matrix of x̂.
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var inverseDeviation: Matrix<Scalar>
    /// Whether the last forward used the batch's statistics (its backward differs).
    var forwardUsedBatchStatistics = true
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// `[∂γ | ∂β]` of the last backward.
    var gradient: Matrix<Scalar>
    /// The sums over the processes of data-parallel training (nil: this process's rows are the
    /// batch; see `BatchNorm+CrossProcess.swift`), the values of one sum, the whole batch's
    /// `[mean(dy) | mean(dy·x̂)]`, and the batch's values a channel in the last forward.
    var crossProcessSums: (any CrossProcessSums)?
    var statistics: [Double] = []
    var statisticsGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// The passes' per-sample figures and the backward pass's per-channel factors
    /// (`NetworkKernels.batchNormWorkspace`), shaped by the batch.
    var workspace = Matrix<Scalar>(rows: 0, columns: 0)
    var batchValues = 0.0

    /// - Parameters:
    ///   - channels: the channels normalized apart.
    ///   - positions: the values of a channel in a row (1 after a dense layer, H·W after a
    ///     convolution).
    ///   - momentum: the weight of a batch's statistics in the running averages (0.1).
    ///   - epsilon: ε added to the variance (10⁻⁵).
    ///   - rectify: a ReLU after the normalization, fused (false).
    /// - Throws: `invalidArgument` for a size below 1 or with a product beyond `Int32.max`, a
    ///   momentum outside [0, 1], or an ε that is not positive and finite in `Scalar`.
    public init(
        channels: Int, positions: Int = 1, momentum: Double = 0.1, epsilon: Double = 1e-5, rectify: Bool = false
    ) throws(NGError) {
        for (name, value) in [("channels", channels), ("positions", positions)] where value < 1 {
            throw .invalidArgument(operation: .batchNormInit, argument: name, reason: "must be at least 1, got \(value)")
        }
        let (width, overflow) = channels.multipliedReportingOverflow(by: positions)
        try NGError.Operation.batchNormInit.require(
            !overflow && width <= Int(Int32.max), "channels, positions",
            "\(channels) × \(positions) values a row is more than Int32.max")
        try NGError.Operation.batchNormInit.require(
            (0...1).contains(momentum), "momentum", "must be in [0, 1], got \(momentum)")
        try NGError.Operation.batchNormInit.require(
            epsilon > 0 && epsilon.isFinite && Scalar(epsilon) > 0, "epsilon",
            "must be positive and finite in \(Scalar.self), got \(epsilon)")
        try MemoryRequirement.of(
            "its \(channels) channels' scale, shift, statistics and gradients", elements: 12 * Double(channels), Scalar.self
        ).check(.batchNormInit, argument: "channels")
        self.channels = channels
        self.positions = positions
        self.momentum = momentum
        self.epsilon = Scalar(epsilon)
        self.rectify = rectify
        weight = Matrix(rows: 1, columns: 2 * channels) { _, j in j < channels ? 1 : 0 }
        gradient = Matrix(rows: 1, columns: 2 * channels)
        runningMean = Matrix(rows: 1, columns: channels)
        runningVariance = Matrix(rows: 1, columns: channels, repeating: 1)
        (stagedMean, stagedVariance) = (runningMean, runningVariance)
        (mean, variance) = (runningMean, runningVariance)
        inverseDeviation = Matrix(rows: 1, columns: channels)
    }

    public var spec: LayerSpec { .vector(length: 2 * channels) }

    /// No GEMM (see `LayerFlops`).
    public var flops: LayerFlops {
        LayerFlops(name: "batch norm \(rectify ? "+ ReLU " : "")\(channels)×\(positions)", forward: 0, backward: 0)
    }

    /// - Throws: `shapeMismatch` for rows of another width; `invalidArgument` in training when a
    ///   channel has a single value (one row of one position: no variance to normalize by).
    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, channels * positions), .batchNormForward, "input")
        let (rows, channels, positions, epsilon, rectify) = (x.rows, channels, positions, epsilon, rectify)
        let batchStatistics = usesBatchStatistics
        if batchStatistics && rows * positions < 2 {
            throw .invalidArgument(
                operation: .batchNormForward, argument: "input",
                reason: "has one value a channel (\(rows) row of \(positions) positions): no batch statistics")
        }
        ensureShape(&output, rows, channels * positions)
        input = x
        var count = rows * positions
        let sums = batchStatistics ? crossProcessSums : nil
        if let sums {
            count = synchronizedStatistics(x, sums)
        } else if !batchStatistics {
            Self.copy(runningMean, into: &mean)
            Self.copy(runningVariance, into: &variance)
        }
        ensureShape(&workspace, 1, NetworkKernels.batchNormWorkspace(rows: rows, channels: channels))
        withViews(x, weight, mutating: &output) { x, w, y in
            mean.withMutableView { m in
                variance.withMutableView { v in
                    inverseDeviation.withMutableView { inverse in
                        workspace.withMutableView { work in
                            NetworkKernels.batchNorm(
                                x.base, rows: rows, channels: channels, positions: positions, gain: w.base,
                                bias: w.columns(channels..<2 * channels).base, epsilon: epsilon,
                                batchStatistics: batchStatistics && sums == nil, rectify: rectify, mean: m.base,
                                variance: v.base, into: y.base, inverseDeviation: inverse.base, workspace: work.base)
                        }
                    }
                }
            }
        }
        forwardUsedBatchStatistics = batchStatistics
        batchValues = Double(count)
        if batchStatistics { stageRunningAverages(count: count) }
        return output
    }

    /// `(1 − momentum)·running + momentum·batch`, the variance unbiased, into the staged averages.
    func stageRunningAverages(count: Int) {
        let keep = Scalar(1 - momentum)
        let (weight, unbiased) = (Scalar(momentum), Scalar(Double(count) / Double(count - 1)))
        withViews(runningMean, mean, mutating: &stagedMean) { running, batch, staged in
            staged.update(from: running)
            BLAS.scal(keep, staged)
            BLAS.axpy(weight, batch, into: staged)
        }
        withViews(runningVariance, variance, mutating: &stagedVariance) { running, batch, staged in
            staged.update(from: running)
            BLAS.scal(keep, staged)
            BLAS.axpy(weight * unbiased, batch, into: staged)
        }
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(input.shape, .batchNormBackward, "outputGradient")
        let (rows, channels, positions, batchStatistics) = (dy.rows, channels, positions, forwardUsedBatchStatistics)
        let sums = batchStatistics ? crossProcessSums : nil
        ensureShape(&inputGradient, rows, channels * positions)
        let rectify = rectify
        ensureShape(&workspace, 1, NetworkKernels.batchNormWorkspace(rows: rows, channels: channels))
        withViews(dy, input, mutating: &inputGradient) { dy, x, dx in
            withViews(inverseDeviation, weight, mutating: &gradient) { inverse, w, g in
                withViews(mean, output, mutating: &workspace) { m, y, work in
                    NetworkKernels.batchNormBackward(
                        dy.base, input: x.base, mean: m.base, inverseDeviation: inverse.base, rows: rows,
                        channels: channels, positions: positions, gain: w.base,
                        batchStatistics: batchStatistics && sums == nil, rectifiedOutput: rectify ? y.base : nil,
                        into: dx.base, gainGradient: g.base, biasGradient: g.columns(channels..<2 * channels).base,
                        workspace: work.base)
                }
            }
        }
        if let sums { completeSynchronizedGradient(rows: rows, sums) }
        return inputGradient
    }

    public var parameterGradient: Matrix<Scalar> { gradient }

    /// The optimizer's step of `[γ | β]`, then — only once it succeeded — the running averages
    /// the last training forward staged.
    public func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.step(handle, weight: &weight, submitted: .gradient(parameterGradient))
        Self.copy(stagedMean, into: &runningMean)
        Self.copy(stagedVariance, into: &runningVariance)
    }

    /// Copies values between matrices of one shape without allocating.
    static func copy(_ source: Matrix<Scalar>, into target: inout Matrix<Scalar>) {
        source.withView { s in target.withMutableView { $0.update(from: s) } }
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
    }
}

/// A layer that normalizes by its batch's statistics in training and by running averages in
/// evaluation; `Model.forward` switches it to the latter while it runs.
extension BatchNorm {
    /// Puts saved running averages in use (`Model.restore(parameterBytes:)`), staged ones too.
    func setRunningStatistics(mean: Matrix<Scalar>, variance: Matrix<Scalar>) {
        (runningMean, runningVariance) = (mean, variance)
        (stagedMean, stagedVariance) = (mean, variance)
    }
}

public protocol BatchStatisticsLayer: AnyObject {
    /// True in training (the default), false in evaluation.
    var usesBatchStatistics: Bool { get set }
}
