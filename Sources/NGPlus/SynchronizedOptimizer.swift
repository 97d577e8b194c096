/// An optimizer stepped in three phases, so that something happens once per training step
/// between the backward pass and the updates — data-parallel training's one all-reduce
/// (`NGDistributed.DataParallel`): every layer's `observe` (when it is used) and `submit`,
/// then one `synchronize`, then every layer's `step`. Training code written against it (as
/// `NGTrain.Model` is) runs unchanged on one process or many.
public protocol SynchronizedOptimizer<Scalar> {
    associatedtype Scalar: BLASScalar

    /// Registers a layer, in the same order on every process.
    mutating func register(_ layer: LayerSpec) throws(NGError) -> LayerHandle

    /// The rows of every global batch this process trains on (the whole batch on one process).
    var localRows: Range<Int> { get }

    /// As `LayerOptimizer.usesObservation`.
    func usesObservation(_ layer: LayerHandle) -> Bool

    /// This process's statistics of `layer` (its rows of the batch), as `LayerOptimizer.observe`.
    mutating func observe(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws

    /// As `LayerOptimizer.takesSampleGradients`.
    func takesSampleGradients(_ layer: LayerHandle) -> Bool

    /// This process's per-sample gradients of a conv2d `layer` (its rows of the batch), as
    /// `LayerOptimizer.observe(_:sampleGradients:)`.
    mutating func observe(_ layer: LayerHandle, sampleGradients: Matrix<Scalar>) throws

    /// This process's gradient of `layer` (of the mean loss over its rows), for the coming step.
    mutating func submit(_ layer: LayerHandle, gradient: Matrix<Scalar>) throws

    /// This process's gradient of a dense layer, `G̃ = dYᵀ·[X | 1]`, from its inputs and output
    /// gradients.
    mutating func submit(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws

    /// This process's lookups of an embedding table and their output gradients (of the mean
    /// loss over its rows: each lookup a row), as `LayerOptimizer.step(_:table:lookups:outputGradients:)`
    /// takes them, for the coming step.
    mutating func submit(_ layer: LayerHandle, lookups: [Int], outputGradients: Matrix<Scalar>) throws

    /// Once per training step, after every layer's `submit`: makes the gradients and the shared
    /// statistics those of the whole batch. Returns the whole batch's mean of `loss` (this
    /// process's mean loss over its rows). Throws the first error of this step's `observe` or
    /// `submit` calls (call it after one of them failed too, so that the other processes learn
    /// of the failure), or the failure of another process.
    mutating func synchronize(loss: Double) throws -> Double

    /// The update of `layer`. `submitted` is what the layer submitted for this step: a
    /// data-parallel optimizer steps from the whole batch's synchronized gradient in its place,
    /// a local one (one process, nothing to synchronize) steps from it.
    mutating func step(_ layer: LayerHandle, weight: inout Matrix<Scalar>, submitted: SubmittedGradient<Scalar>) throws

    /// The sums over every process that batch normalization's statistics need, or nil when this
    /// process trains alone.
    var crossProcessSums: (any CrossProcessSums)? { get }
}

extension SynchronizedOptimizer {
    /// None: a process alone has every row of the batch.
    public var crossProcessSums: (any CrossProcessSums)? { nil }
}

/// What a layer hands its optimizer for a step, as `SynchronizedOptimizer.submit` takes it.
public enum SubmittedGradient<Scalar: BLASScalar> {
    /// The gradient of the layer's parameter.
    case gradient(Matrix<Scalar>)
    /// A dense layer's inputs and output gradients (`G̃ = dYᵀ·[X | 1]`).
    case dense(inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>)
    /// An embedding table's lookups and their output gradients.
    case lookups([Int], outputGradients: Matrix<Scalar>)
}
