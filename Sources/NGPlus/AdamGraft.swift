import NGKernels

/// `StepGraft.adamNorm` for one layer: Adam's moments of its gradient, kept only to size its
/// preconditioned direction, `D ← D·‖A‖/‖D‖` with `A = m̂/(√v̂ + ε)` (β₁ 0.9, β₂ 0.999,
/// ε 10⁻⁸, Adam's defaults). A table's step grafts its looked-up rows together on the lazy
/// Adam step of those rows. Empty (no storage) when the layer's step is not grafted this way.
struct AdamGraft<Scalar: BLASScalar>: Sendable {
    static var beta1: Double { 0.9 }
    static var beta2: Double { 0.999 }
    static var epsilon: Double { 1e-8 }

    var moments: AdamMoments<Scalar>
    /// Workspace: the gradient, then Adam's step from it.
    var adamStep: Matrix<Scalar>

    /// No graft.
    init() {
        self.init(shape: Shape(0, 0), stagedRows: 0)
    }

    /// Zero moments for a parameter of `shape`, staging `stagedRows` rows at once.
    init(shape: Shape, stagedRows: Int) {
        moments = AdamMoments(shape: shape, stagedRows: stagedRows)
        adamStep = Matrix(rows: stagedRows, columns: shape.columns)
    }

    var isEmpty: Bool { moments.first.isEmpty }

    /// Grafts `direction` on Adam's step from `gradient`, its moments staged. Returns false
    /// (with `direction` unchanged) when a new moment is not finite.
    mutating func graft(_ direction: inout Matrix<Scalar>, gradient: LayerGradient<Scalar>, t: Int) -> Bool {
        gradient.write(into: &adamStep)
        guard moments.stage(
            &adamStep, beta1: Self.beta1, beta2: Self.beta2, epsilon: Self.epsilon, t: t, weightUpdate: nil)
        else { return false }
        Self.rescale(&direction, rows: direction.rows, toNormOf: adamStep)
        return true
    }

    /// Grafts the first `rows.count` rows of `direction` (the looked-up rows of a table, row k
    /// for table row `rows[k]`) on the lazy Adam step of the gradient rows in `gradientRows`.
    mutating func graftRows(
        _ direction: inout Matrix<Scalar>, gradientRows: Matrix<Scalar>, rows: [Int], t: Int
    ) -> Bool {
        if adamStep.rows < rows.count {
            adamStep = Matrix(rows: direction.rows, columns: direction.columns)
            moments.reserveStagedRows(direction.rows)
        }
        let count = rows.count
        gradientRows.withView { g in adamStep.withMutableView { a in a.rows(0..<count).update(from: g.rows(0..<count)) } }
        guard moments.stageRows(
            rows, &adamStep, beta1: Self.beta1, beta2: Self.beta2, epsilon: Self.epsilon, t: t)
        else { return false }
        Self.rescale(&direction, rows: count, toNormOf: adamStep)
        return true
    }

    /// `D ← D·‖A‖/‖D‖` over the first `rows` rows of both; a zero direction stays zero.
    static func rescale(_ direction: inout Matrix<Scalar>, rows: Int, toNormOf adam: Matrix<Scalar>) {
        let target = adam.withView { BLAS.nrm2($0.rows(0..<rows).flattened) }
        direction.withMutableView { d in
            let norm = BLAS.nrm2(d.readOnly.rows(0..<rows).flattened)
            guard norm > 0, norm.isFinite else { return }
            BLAS.scal(target / norm, d.rows(0..<rows).flattened)
        }
    }

    /// Adam's elementwise update (about 10 flops a value) and the two norms.
    func flopsPerStep(size: Double) -> Double { isEmpty ? 0 : 14 * size }

    mutating func commitStaged() {
        if !isEmpty { moments.commitStaged() }
    }

    mutating func commitStagedRows(_ rows: [Int]) {
        if !isEmpty { moments.commitStagedRows(rows) }
    }

    func encode(to writer: inout StateWriter) {
        if !isEmpty { moments.encode(to: &writer) }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        if !isEmpty { try moments.restore(from: &reader, owner: "graft's Adam") }
    }
}

extension AdamGraft {
    /// The error of a graft whose moments overflow (a gradient value whose square is not
    /// finite), naming the first such value of the staged second moment: `nonFinite`, which
    /// `NonFiniteStepPolicy.skipStep` skips like any other overflow; nothing is in use.
    func overflow(_ operation: NGError.Operation) -> NGError {
        let index = moments.stagedSecond.firstNonFiniteIndex() ?? 0
        let columns = Swift.max(moments.stagedSecond.columns, 1)
        return .nonFinite(
            operation: operation, argument: "graft (Adam's second moment overflows)", row: index / columns,
            column: index % columns)
    }
}
