import Foundation
import NGKernels

/// Adam's moment estimates of one parameter: the first and second moments in use and the pair
/// a step stages beside them, put in use only by `commitStaged`. The Adam rule, Shampoo's graft
/// and NG+'s Adam graft each keep one.
struct AdamMoments<Scalar: BLASScalar>: Sendable {
    var first: Matrix<Scalar>
    var second: Matrix<Scalar>
    var stagedFirst: Matrix<Scalar>
    var stagedSecond: Matrix<Scalar>

    /// Zero moments of `shape`, with room to stage `stagedRows` rows (all of them for a dense
    /// step, the looked-up rows for a table's sparse step).
    init(shape: Shape, stagedRows: Int) {
        first = Matrix(rows: shape.rows, columns: shape.columns)
        second = first
        stagedFirst = Matrix(rows: stagedRows, columns: shape.columns)
        stagedSecond = stagedFirst
    }

    mutating func reserveStagedRows(_ count: Int) {
        guard stagedFirst.rows < count else { return }
        stagedFirst = Matrix(rows: count, columns: first.columns)
        stagedSecond = stagedFirst
    }

    /// `1 − βᵗ⁺¹`: the bias correction of a moment with decay β after step count t (from 0).
    static func biasCorrection(_ beta: Double, t: Int) -> Scalar {
        1 - Scalar(pow(beta, Double(t + 1)))
    }

    /// Stages `m′ = β₁·m + (1 − β₁)·g` and `v′ = β₂·v + (1 − β₂)·g²` from the gradient g in
    /// `gradient`, which it overwrites with Adam's direction `m̂′ / (√v̂′ + ε)` (bias-corrected at
    /// step count t); with `weightUpdate` the same pass writes the new weights. Returns whether
    /// every new value is finite.
    mutating func stage(
        _ gradient: inout Matrix<Scalar>, beta1: Double, beta2: Double, epsilon: Double, t: Int,
        weightUpdate: FusedWeightUpdate<Scalar>?
    ) -> Bool {
        let (correction1, correction2) = (Self.biasCorrection(beta1, t: t), Self.biasCorrection(beta2, t: t))
        return first.withView { m in
            second.withView { v in
                stagedFirst.withMutableView { mNew in
                    stagedSecond.withMutableView { vNew in
                        gradient.withMutableView { g in
                            Scalar.adamUpdate(
                                gradient: g.base, firstMoment: m.base, secondMoment: v.base, intoFirst: mNew.base,
                                intoSecond: vNew.base, count: g.count, beta1: Scalar(beta1), beta2: Scalar(beta2),
                                correction1: correction1, correction2: correction2, epsilon: Scalar(epsilon),
                                weightUpdate: weightUpdate)
                        }
                    }
                }
            }
        }
    }

    /// `stage` on the looked-up rows of a table (lazy Adam): row k of `gradients` holds the
    /// gradient of row `rows[k]`; its moments are staged in row k, for `commitStagedRows`. With
    /// `weightUpdate` (a table's weight and the new rows), row `rows[k]` of the weight steps into
    /// row k of the new rows; without, row k of `gradients` is overwritten with its Adam
    /// direction. One kernel call for all the rows (`BLASScalar.adamUpdateRows`).
    mutating func stageRows(
        _ rows: [Int], _ gradients: inout Matrix<Scalar>, beta1: Double, beta2: Double, epsilon: Double, t: Int,
        weightUpdate: FusedWeightUpdate<Scalar>? = nil
    ) -> Bool {
        let (correction1, correction2) = (Self.biasCorrection(beta1, t: t), Self.biasCorrection(beta2, t: t))
        let width = first.columns
        return withViews(first, second, mutating: &stagedFirst) { m, v, mNew in
            stagedSecond.withMutableView { vNew in
                gradients.withMutableView { g in
                    rows.withUnsafeBufferPointer { rows in
                        Scalar.adamUpdateRows(
                            gradient: g.base, firstMoment: m.base, secondMoment: v.base, intoFirst: mNew.base,
                            intoSecond: vNew.base, rows: rows, width: width, beta1: Scalar(beta1), beta2: Scalar(beta2),
                            correction1: correction1, correction2: correction2, epsilon: Scalar(epsilon),
                            weightUpdate: weightUpdate)
                    }
                }
            }
        }
    }

    /// Puts the moments of the last dense `stage` in use.
    mutating func commitStaged() {
        swap(&first, &stagedFirst)
        swap(&second, &stagedSecond)
    }

    /// Puts the staged rows k of a sparse step in use as rows `rows[k]`.
    mutating func commitStagedRows(_ rows: [Int]) {
        scatterRows(rows, from: stagedFirst, into: &first)
        scatterRows(rows, from: stagedSecond, into: &second)
    }

    func encode(to writer: inout StateWriter) {
        writer.write(first)
        writer.write(second)
    }

    /// Reads what `encode` wrote; `owner` names them in an error ("Shampoo" → "Shampoo first
    /// moment").
    mutating func restore(from reader: inout StateReader, owner: String) throws(NGError) {
        try reader.read(into: &first, what: "\(owner) first moment")
        try reader.read(into: &second, what: "\(owner) second moment")
    }
}
