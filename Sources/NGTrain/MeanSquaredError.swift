import NGPlus

/// What a training step fits: class labels (softmax cross-entropy) or values (mean squared
/// error).
enum TrainingTargets<Scalar: BLASScalar> {
    case labels(ArraySlice<Int>)
    case values(Matrix<Scalar>)
}

/// The loss of a regression: `L = (1/n)·Σ (p − t)²` over the n rows of predictions p and
/// targets t (summed over their columns), and its gradient `2(p − t)/n`.
struct MeanSquaredError<Scalar: BLASScalar> {
    /// ∂L/∂p of the last call.
    var gradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `shapeMismatch` for targets of another shape than the predictions,
    ///   `nonFinite` for a non-finite target.
    mutating func loss(predictions p: Matrix<Scalar>, targets t: Matrix<Scalar>) throws(NGError) -> Double {
        try t.requireShape(p.shape, .meanSquaredErrorLoss, "targets")
        try t.requireFinite(.meanSquaredErrorLoss, "targets")
        let rows = Scalar(max(p.rows, 1))
        ensureShape(&gradient, p.rows, p.columns)
        return withViews(p, t, mutating: &gradient) { p, t, g in
            g.update(from: p)
            BLAS.axpy(-1, t.flattened, into: g.flattened)
            let sum = BLAS.dot(g.readOnly.flattened, g.readOnly.flattened)
            BLAS.scal(2 / rows, g.flattened)
            return Double(sum / rows)
        }
    }
}
