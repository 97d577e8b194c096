import NGPlus

/// One layer of the reference training stack. Layers are classes that own their output and
/// gradient buffers (allocated for the first batch size seen, again only when it changes), so
/// a steady-state step allocates nothing. `forward` keeps what `backward` needs; the model
/// calls `release()` after the optimizer step so the previous layer's output buffer is
/// uniquely held again and is overwritten in place next time.
public protocol NetworkLayer<Scalar>: AnyObject {
    associatedtype Scalar: BLASScalar
    /// The output for a batch (one sample per row).
    func forward(_ input: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar>
    /// The gradient with respect to the input, from the one with respect to the output.
    func backward(_ outputGradient: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar>
    /// Drops the references to the batch kept for backward and the optimizer.
    func release()
}

/// A layer whose GEMM flops the model's flop account counts (every layer with a parameter, and
/// attention).
public protocol FlopCountedLayer<Scalar>: NetworkLayer {
    /// The GEMM flops of one sample through this layer, forward and backward.
    var flops: LayerFlops { get }
}

/// A layer with a parameter that an optimizer updates.
public protocol TrainableLayer<Scalar>: FlopCountedLayer {
    /// What the optimizer registers.
    var spec: LayerSpec { get }
    /// The parameter the optimizer updates (W̃ of `spec`).
    var weight: Matrix<Scalar> { get set }
    /// The handle; `LayerHandle.unregistered` until the model registers the layer.
    var handle: LayerHandle { get set }
    /// Hands the statistics and the gradient of the last backward to the optimizer (the first
    /// phase of its step).
    func submit<O: SynchronizedOptimizer>(to optimizer: inout O) throws where O.Scalar == Scalar
    /// Takes the optimizer's update (the last phase of its step).
    func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar
    /// Before a training step's forward pass: learns what the coming backward pass should keep
    /// for the optimizer (a convolution by sample keeps its per-sample weight gradients when
    /// the optimizer takes them). `release` forgets it.
    func prepareStep<O: SynchronizedOptimizer>(for optimizer: O) where O.Scalar == Scalar
    /// Whether the layer hands an optimizer that takes them its per-sample weight gradients
    /// (`SynchronizedOptimizer.observe(_:sampleGradients:)`), formed by its backward pass.
    var handsSampleGradients: Bool { get }
}

extension TrainableLayer {
    /// Nothing to keep: the layer's statistics are its inputs and output gradients.
    public func prepareStep<O: SynchronizedOptimizer>(for optimizer: O) where O.Scalar == Scalar {}

    public var handsSampleGradients: Bool { false }
}

/// A trainable layer that hands its optimizer a whole-parameter gradient and no per-sample
/// statistics (LayerNorm's scales and shifts, learned positions): `submit` and `step` are
/// written once here.
public protocol GradientOnlyLayer<Scalar>: TrainableLayer {
    /// The gradient of `weight` from the last backward.
    var parameterGradient: Matrix<Scalar> { get }
}

extension GradientOnlyLayer {
    public func submit<O: SynchronizedOptimizer>(to optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.submit(handle, gradient: parameterGradient)
    }

    public func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.step(handle, weight: &weight, submitted: .gradient(parameterGradient))
    }
}

/// Resizes `matrix` to `rows × columns` when it has another shape (allocating only then).
@inlinable
func ensureShape<Scalar: BLASScalar>(_ matrix: inout Matrix<Scalar>, _ rows: Int, _ columns: Int) {
    if matrix.rows != rows || matrix.columns != columns { matrix = Matrix(rows: rows, columns: columns) }
}
