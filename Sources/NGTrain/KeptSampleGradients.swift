import NGPlus

/// A convolution's per-sample weight gradients, kept by its backward pass a sample at a time on
/// the steps whose optimizer takes them (`SynchronizedOptimizer.takesSampleGradients`): NG+'s
/// per-sample GFIM is made of the same products the weight gradient sums, so the optimizer
/// then forms only their Gram. Requested before the step's forward pass, kept by the backward
/// pass, handed over by `submit`, forgotten by `release`.
struct KeptSampleGradients<Scalar: NetworkScalar> {
    /// (K + 1) × (B·c_out), allocated on the first step that keeps them.
    var values = Matrix<Scalar>(rows: 0, columns: 0)
    /// Whether the coming backward pass keeps them.
    private(set) var requested = false
    /// Whether the last backward pass kept them.
    private(set) var kept = false
    /// Empty: what a backward pass that keeps none is handed.
    private var none = Matrix<Scalar>(rows: 0, columns: 0)

    mutating func request<O: SynchronizedOptimizer>(from optimizer: O, _ handle: LayerHandle) where O.Scalar == Scalar {
        requested = optimizer.takesSampleGradients(handle)
    }

    /// Calls the backward pass `body` with the matrix it keeps the gradients in — shaped for
    /// `batch` samples of `outChannels` filters over patches of `patchRows` rows when requested,
    /// empty otherwise.
    mutating func keeping(
        batch: Int, outChannels: Int, patchRows: Int, _ body: (inout Matrix<Scalar>) -> Void
    ) {
        kept = requested && batch > 0
        guard kept else { return body(&none) }
        ensureShape(&values, patchRows, batch * outChannels)
        body(&values)
    }

    /// Hands the kept gradients to `optimizer` when it still takes them; returns whether it did.
    func submit<O: SynchronizedOptimizer>(to optimizer: inout O, _ handle: LayerHandle) throws -> Bool
    where O.Scalar == Scalar {
        guard kept, optimizer.takesSampleGradients(handle) else { return false }
        try optimizer.observe(handle, sampleGradients: values)
        return true
    }

    /// The end of a step: nothing requested or kept (the storage stays).
    mutating func release() {
        (requested, kept) = (false, false)
    }
}
