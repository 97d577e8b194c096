/// The per-sample GFIM of a dense layer `Y = X·Wᵀ (+ b)`, W m × n (docs/ALGORITHM.md §2a), built
/// from the layer's inputs X (B × n) and the gradients of the **mean** loss with respect to
/// its outputs dY (B × m), without forming the B per-sample gradients
/// `dW_i = B·dy_i·x̃_iᵀ` (x̃_i = x_i with a 1 appended when the bias is preconditioned too):
///
/// - left, order m:        `F_new = B·dYᵀ·diag(‖x̃_i‖²)·dY`
/// - right, order n (+1):  `F_new = B·X̃ᵀ·diag(‖dy_i‖²)·X̃`
///
/// Each is one GEMM per diagonal block over the rows of the factor scaled by the square roots
/// of the weights, which the builder keeps in its own workspace (`scaledRows`). That scaled
/// factor U (B rows) is also the low-rank form `F_new = B·UᵀU` that `WoodburyInverse` takes.
///
/// B is the number of rows: in a sequence model every token (atom, pair) row is a sample, and
/// dY holds the gradients of the loss averaged over all the rows.
public struct LinearGFIMBuilder<Scalar: BLASScalar>: Sendable {
    /// m, the layer's outputs.
    public let outputs: Int
    /// n, the layer's inputs (without the bias column).
    public let inputs: Int
    /// Whether the bias is the extra last column of W.
    public let bias: Bool
    /// Which GFIM is built.
    public let side: Side
    /// The scaled factor U of the last call, `F_new = B·UᵀU`.
    @usableFromInline var rows: FactorRows<Scalar>

    /// A builder for an `outputs × inputs` layer, with workspace for `batchCapacity` samples
    /// (a larger batch reallocates it once).
    /// - Throws: `invalidArgument` for a dimension or capacity below 1.
    public init(
        outputs: Int, inputs: Int, bias: Bool, side: Side = .left, batchCapacity: Int = 1
    ) throws(NGError) {
        KernelFitWarning.emitOnce()
        for (name, value) in [("outputs", outputs), ("inputs", inputs), ("batchCapacity", batchCapacity)]
        where value < 1 || value > Int(Int32.max) {
            throw .invalidArgument(
                operation: .linearGFIMBuilderInit, argument: name,
                reason: "must be in 1...Int32.max, got \(value)")
        }
        self.outputs = outputs
        self.inputs = inputs
        self.bias = bias
        self.side = side
        let width = side == .left ? outputs : inputs + (bias ? 1 : 0)
        self.rows = FactorRows(capacity: batchCapacity, width: width)
    }

    /// The order of the GFIM: m (left) or n, plus one with a bias (right).
    @inlinable public var dimension: Int { rows.width }

    /// The workspace; its first `batchSize` rows hold the scaled factor U of the last call,
    /// with `F_new = B·UᵀU`.
    @inlinable public var scaledRows: Matrix<Scalar> { rows.buffer }

    /// The batch size of the last call (0 before the first).
    @inlinable public var batchSize: Int { rows.count }

    /// `FactorRows.withGathered` on the factor of the last call: a data-parallel run gathers
    /// every process's rows, scaled by its share of the batch, into one factor of the whole
    /// batch, with `F_new = totalRows·UᵀU` from then on.
    /// - Precondition: `totalRows ≥ batchSize`.
    @inlinable
    public mutating func withGatheredFactor<E: Error>(
        totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> Void
    ) throws(E) {
        try rows.withGathered(totalRows: totalRows, body)
    }

    /// `F ← (1−α)·F + α·F_new` from one mini-batch.
    /// - Throws: `emptyMatrix`, `shapeMismatch` (X must be B × n, dY B × m, F of order
    ///   `dimension`), `nonFinite` (in X or dY), `invalidArgument` (α outside (0, 1]).
    ///   F is untouched on a throw.
    @inlinable
    public mutating func accumulate(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar = 1,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.linearGFIMBuilderAccumulate
        try validate(inputs: x, outputGradients: dy, operation)
        try GFIM.requireOrder(dimension, of: gfim, operation)
        try GFIM.requireNewWeight(newWeight, operation)
        accumulateUnchecked(inputs: x, outputGradients: dy, newWeight: newWeight, into: &gfim)
    }

    /// `accumulate` without its checks, for callers that validated the arguments.
    @inlinable
    package mutating func accumulateUnchecked(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, newWeight: Scalar,
        into gfim: inout BlockDiagonalMatrix<Scalar>
    ) {
        fillScaledRows(inputs: x, outputGradients: dy)
        let batch = rows.count
        rows.buffer.withView { u in
            GFIM.accumulateGram(
                u.rows(0..<batch), overColumns: true, alpha: newWeight * Scalar(batch), beta: 1 - newWeight, into: &gfim)
        }
    }

    /// Only the low-rank factor: fills `scaledRows` (with `F_new = B·UᵀU`) for a
    /// `WoodburyInverse`, without forming any GFIM.
    /// - Throws: `emptyMatrix`, `shapeMismatch`, `nonFinite`; nothing changes on a throw.
    @inlinable
    public mutating func prepareFactor(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>
    ) throws(NGError) {
        try validate(inputs: x, outputGradients: dy, .linearGFIMBuilderPrepareFactor)
        fillScaledRows(inputs: x, outputGradients: dy)
    }

    /// Whether the first `batchSize` rows of the factor are finite (finite inputs whose
    /// products overflow make them infinite).
    @inlinable
    package func factorIsFinite() -> Bool {
        rows.isFinite
    }

    @inlinable
    func validate(
        inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>, _ operation: NGError.Operation
    ) throws(NGError) {
        try x.requireNonEmpty(operation, "inputs")
        try x.requireShape(Shape(x.rows, inputs), operation, "inputs")
        try dy.requireShape(Shape(x.rows, outputs), operation, "outputGradients")
        try x.requireFinite(operation, "inputs")
        try dy.requireFinite(operation, "outputGradients")
    }

    /// Row i of the workspace ← √w_i·(dy_i or x̃_i), for validated inputs: a copy and a SCAL
    /// per row, no arithmetic loop (generic callers reach this unspecialized).
    @inlinable
    package mutating func fillScaledRows(inputs x: Matrix<Scalar>, outputGradients dy: Matrix<Scalar>) {
        let batch = x.rows
        let (left, withBias, n) = (side == .left, bias, inputs)
        rows.fill(rows: batch) { u in
            x.withView { x in
                dy.withView { dy in
                    for i in 0..<batch {
                        let (xi, dyi, row) = (x.rows(i..<i + 1), dy.rows(i..<i + 1), u.rows(i..<i + 1))
                        if left {
                            let weight = BLAS.dot(xi, xi) + (withBias ? 1 : 0)
                            row.update(from: dyi)
                            BLAS.scal(weight.squareRoot(), row)
                        } else {
                            let root = BLAS.nrm2(dyi)
                            let inputs = row.columns(0..<n)
                            inputs.update(from: xi)
                            BLAS.scal(root, inputs)
                            if withBias { row.columns(n..<n + 1).fill(with: root) }
                        }
                    }
                }
            }
        }
    }
}
