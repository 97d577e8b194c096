import NGPlus

/// One registered layer of a data-parallel run: its handle and spec, the gradient it
/// submitted (the whole batch's after `synchronize`), where it is in the step's phases, and
/// what `synchronize` prepared for its step.
struct ExchangeSlot<Scalar: BLASScalar> {
    let handle: LayerHandle
    let spec: LayerSpec
    /// This process's gradient, then the whole batch's after `synchronize`.
    var gradient: Matrix<Scalar>
    var submitted = false
    var observed = false
    var synchronized = false
    /// The rows this layer's inputs have for each row of the batch, learned from its first
    /// inputs (0 until then): 1, or more for a layer on pairs (a SchNet's filter networks see
    /// `atoms − 1` pair rows an atom row).
    var rowsPerBatchRow = 0
    /// An embedding table's lookups (its `gradient` then stays empty: the table's gradient
    /// never travels).
    var embedding: EmbeddingExchange<Scalar>?
    /// The coming step's refresh, made or adopted in `synchronize`, handed to the step.
    var preparedRefresh: PreparedRefresh?

    /// The slot of a layer just registered as `handle`.
    init(handle: LayerHandle, spec: LayerSpec) {
        self.handle = handle
        self.spec = spec
        if case let .embedding(vocabulary, width) = spec {
            gradient = Matrix(rows: 0, columns: 0)
            embedding = EmbeddingExchange(vocabulary: vocabulary, width: width)
        } else {
            gradient = Matrix(rows: spec.parameterShape.rows, columns: spec.parameterShape.columns)
        }
    }
}
