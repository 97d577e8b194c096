import NGKernels

/// A value in use and the next one a step stages beside it (a factor, a GFIM, a momentum): the
/// step builds `staged`, and only once its last check has passed does `commit` put it in use,
/// by a swap. Nothing is copied, a step that throws leaves the value in use as it was, and the
/// value that was in use becomes the next step's staging buffer.
struct Staged<Value: Sendable>: Sendable {
    /// The value in use.
    var current: Value
    /// The value a step stages.
    var staged: Value

    /// Both the value in use and the staging buffer start as `value`.
    init(_ value: Value) {
        (current, staged) = (value, value)
    }

    /// Puts the staged value in use.
    mutating func commit() {
        swap(&current, &staged)
    }
}

extension Staged {
    /// Readies the staged matrix for a running average `F ← (1−α)·F + α·F_new` of weight α on
    /// a new batch, which is then added into it with β = 1 − α: the matrix in use copied in,
    /// unless the batch replaces it (α = 1).
    mutating func prepareAverage<Scalar: BLASScalar>(weight: Scalar) throws(NGError)
    where Value == BlockDiagonalMatrix<Scalar> {
        if weight != 1 { try staged.assign(from: current) }
    }
}
