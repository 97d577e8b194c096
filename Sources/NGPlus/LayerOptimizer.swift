import Foundation

/// What every optimizer of the package does, so that NG+ and its baselines (SGD, Adam, K-FAC)
/// run side by side in the same training code. Parameters are one matrix per layer, `W̃`,
/// with a preconditioned bias as its last column (see `LayerSpec`).
public protocol LayerOptimizer {
    associatedtype Scalar: BLASScalar

    /// Registers a layer; the handle names it in every later call.
    mutating func register(_ layer: LayerSpec) throws(NGError) -> LayerHandle

    /// The per-sample statistics of a dense or conv2d layer for its coming step: its inputs
    /// and the gradients of the **mean** loss with respect to its outputs. Optimizers that
    /// need none validate and ignore them.
    ///
    /// Rows are samples. In a sequence model (tokens, atoms, pairs) every row is a sample: a
    /// dense layer applied to B sequences of T tokens passes its B·T rows, with the gradients
    /// of the loss averaged over all B·T rows (the usual token-mean cross-entropy), and NG+'s
    /// GFIM averages the rows' per-row gradient products — as the authors do for SchNet.
    mutating func observe(
        _ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>
    ) throws

    /// Whether the coming step of `layer` uses an observation: false when `observe` would
    /// only check shapes and drop it (off a statistics step, or an optimizer that uses none),
    /// so that a caller whose statistics cost work to form (a layout change, say) may skip
    /// both. True for a handle this optimizer does not know, so that `observe` reports it.
    func usesObservation(_ layer: LayerHandle) -> Bool

    /// Whether the coming step of a conv2d `layer` takes its per-sample weight gradients
    /// (`observe(_:sampleGradients:)`) in place of its inputs and output gradients: NG+'s
    /// per-sample GFIM on a statistics step, whose products are those the backward pass sums
    /// for the weight gradient. A layer that forms them as it goes saves the optimizer forming
    /// them again. False for a handle this optimizer does not know.
    func takesSampleGradients(_ layer: LayerHandle) -> Bool

    /// A conv2d layer's statistics as its per-sample weight gradients of the **mean** loss,
    /// transposed: `sampleGradients` is (K + 1) × (B·c_out), sample i's `dW̃ᵢᵀ` (K + 1 rows, the
    /// bias's last, of c_out values) in columns i·c_out..<(i+1)·c_out. Only when
    /// `takesSampleGradients(layer)`.
    /// - Throws: `invalidArgument` (not a conv2d layer, or a step that does not take them),
    ///   `shapeMismatch`, `nonFinite`; nothing changes.
    mutating func observe(_ layer: LayerHandle, sampleGradients: Matrix<Scalar>) throws

    /// One update of `weight` (W̃) from its gradient G̃ (same shape).
    mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>
    ) throws

    /// One update of a dense layer's W̃ from its inputs and output gradients, whose weight
    /// gradient is `G̃ = dYᵀ·[X | 1]`; NG+ applies its inverse without forming G̃.
    mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>,
        outputGradients: Matrix<Scalar>
    ) throws

    /// One sparse step of an embedding table (`LayerSpec.embedding`): the batch read row
    /// `lookups[r]` of `table` as its output row r, and row r of `outputGradients` (lookups ×
    /// width) is the gradient of the **mean** loss with respect to that output row — every
    /// lookup a sample, as sequence rows are. Only the looked-up rows change, weights and
    /// optimizer state alike (lazily: a row not looked up keeps its momentum or moments, with
    /// no decay), at a cost in proportion to the lookups: the vocabulary × width gradient is
    /// never formed, and only the looked-up rows of the table are read. A row looked up several
    /// times takes the sum of their gradients. NG+ preconditions the rows on the right,
    /// `G_rows·(F + s·I)⁻¹` with `F = L·dYᵀ·dY` over the L lookups; K-FAC also divides each row by
    /// its damped lookup frequency.
    /// - Throws: `invalidArgument` (not an embedding table, no lookups, a lookup outside the
    ///   table), `shapeMismatch`, `nonFinite` (in the gradients or a looked-up row); nothing
    ///   changes.
    mutating func step(
        _ layer: LayerHandle, table: inout Matrix<Scalar>, lookups: [Int], outputGradients: Matrix<Scalar>
    ) throws

    /// What a step does with a non-finite gradient, observation or update: throw (the default)
    /// or skip and count the step. Not part of the saved state.
    var nonFinitePolicy: NonFiniteStepPolicy { get set }

    /// The steps of `layer` skipped under `NonFiniteStepPolicy.skipStep` (not saved).
    func skippedSteps(of layer: LayerHandle) throws(OptimizerError) -> Int

    /// The flops a step of `layer` makes beyond the model's forward and backward passes
    /// (`LayerRecord.extraFlopsPerStep`): what this optimizer's own bound adds to the model's.
    func extraFlopsPerStep(of layer: LayerHandle) throws(OptimizerError) -> Double

    /// Of `extraFlopsPerStep(of:)`, the flops of a conv2d layer's per-sample gradients, which a
    /// layer that hands them over (`observe(_:sampleGradients:)`) has formed in its backward
    /// pass instead.
    func sampleGradientFlopsPerStep(of layer: LayerHandle) throws(OptimizerError) -> Double

    /// The complete state, exactly, in the versioned and checksummed format of `StateFile`.
    func stateBytes() -> [UInt8]

    /// Restores a state saved by the same optimizer with the same registered layers; throws
    /// and changes nothing when the bytes do not fit.
    mutating func restore(stateBytes: [UInt8]) throws(NGError)
}

extension LayerOptimizer {
    /// Saves the state to `url` atomically (a temporary file renamed over the target); savers
    /// in other threads, processes or containers may write the same path at the same time.
    /// - Throws: `OptimizerError.fileError` when `url` names a folder or the file cannot be
    ///   written; the file on disk is then as it was.
    public func save(to url: URL) throws(OptimizerError) {
        try AtomicFile.write(stateBytes(), to: url, operation: .save)
    }

    /// Loads a state saved by `save(to:)`; on any error the optimizer is unchanged.
    /// - Throws: `OptimizerError.fileError` when the file cannot be read, `NGError.corruptState`
    ///   when it is not a state this optimizer can restore.
    public mutating func load(from url: URL) throws {
        try restore(stateBytes: AtomicFile.read(from: url, operation: .load))
    }
}
