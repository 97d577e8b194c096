/// The SGD rule of `SGDSettings` for one parameter: its velocity and one step, staged (the new
/// velocity and weight into buffers of their own) in one vectorized pass, or two when
/// update-norm clipping needs the whole update first; no allocation. `SGDOptimizer` is this rule
/// alone; NG+ and K-FAC apply it after preconditioning.
public struct MomentumSGD<Scalar: BLASScalar>: FirstOrderRule {
    public static var stateKind: String { "SGDOptimizer" }
    var velocity: Matrix<Scalar>
    var started = false
    /// The velocity of a staged step.
    var stagedVelocity: Matrix<Scalar>

    public init(shape: Shape, stagedRows: Int) {
        velocity = Matrix(rows: shape.rows, columns: shape.columns)
        stagedVelocity = Matrix(rows: stagedRows, columns: shape.columns)
    }

    public mutating func reserveStagedRows(_ count: Int) {
        if stagedVelocity.rows < count { stagedVelocity = Matrix(rows: count, columns: velocity.columns) }
    }

    public static func validate(_ settings: SGDSettings, _ operation: NGError.Operation) throws(NGError) {
        try settings.validate(operation)
    }

    /// One step at step count `t`: `d ← d + wd·W` (L2 mode, weight columns only);
    /// `v′ = μ·v + d` (v′ = d on the first step); `s = d + μ·v′` (Nesterov) or `s = v′`;
    /// optional clipping of `lr·s`; `W′ = W − lr·s` (and `W′ = (1 − lr·wd)·W − lr·s` on the
    /// weight columns, decoupled).
    public mutating func stage(
        direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newWeight: inout Matrix<Scalar>,
        weightColumns: Int, settings: SGDSettings, t: Int
    ) -> Bool {
        let mu = Scalar(settings.momentum)
        let decay = Scalar(settings.weightDecay)
        let restart = !started || mu == 0
        return stageStep(
            direction: &direction, weight: weight, into: &newWeight, learningRate: Scalar(settings.learningRate.value(at: t)),
            maxUpdateNorm: settings.maxUpdateNorm, decay: decay, mode: settings.weightDecayMode,
            weightColumns: weightColumns
        ) { direction, weightUpdate in
            velocity.withView { v in
                stagedVelocity.withMutableView { staged in
                    direction.withMutableView { d in
                        Scalar.momentumUpdate(
                            gradient: d.base, velocity: v.base, into: staged.base, count: d.count,
                            momentum: mu, restart: restart, nesterov: settings.nesterov, weightUpdate: weightUpdate)
                    }
                }
            }
        }
    }

    public mutating func commitStaged() {
        swap(&velocity, &stagedVelocity)
        started = true
    }

    /// `stage` on the looked-up rows of a table; a row's velocity starts at zero, so its
    /// first step is `v′ = d`. Without clipping, one kernel call steps every row
    /// (`BLASScalar.momentumUpdateRows`); under update-norm clipping, `stageClippedRowSteps`.
    public mutating func stageRows(
        _ rows: [Int], direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newRows: inout Matrix<Scalar>,
        settings: SGDSettings, t: Int
    ) -> Bool {
        let mu = Scalar(settings.momentum)
        let decay = Scalar(settings.weightDecay)
        let (restart, nesterov, width) = (!started || mu == 0, settings.nesterov, weight.columns)
        let lr = Scalar(settings.learningRate.value(at: t))
        let (decoupledDecay, l2Decay) = settings.weightDecayMode == .decoupled ? (decay, 0) : (0, decay)
        guard let maxUpdateNorm = settings.maxUpdateNorm else {
            return withViews(velocity, weight, mutating: &stagedVelocity) { v, w, staged in
                direction.withMutableView { d in newRows.withMutableView { target in
                    rows.withUnsafeBufferPointer { rows in
                        Scalar.momentumUpdateRows(
                            gradient: d.base, velocity: v.base, into: staged.base,
                            rows: rows, width: width, momentum: mu, restart: restart, nesterov: nesterov,
                            weightUpdate: FusedWeightUpdate(
                                weight: w.base, newWeight: target.base, keep: 1 - lr * decoupledDecay, rate: lr,
                                decay: l2Decay))
                    }
                } }
            }
        }
        return velocity.withView { v in
            stagedVelocity.withMutableView { staged in
                stageClippedRowSteps(
                    rows, direction: &direction, weight: weight, into: &newRows, state: v, learningRate: lr,
                    maxUpdateNorm: maxUpdateNorm, decoupledDecay: decoupledDecay, l2Decay: l2Decay
                ) { k, row, gradient in
                    Scalar.momentumUpdate(
                        gradient: gradient, velocity: v.rows(row..<row + 1).base, into: staged.rows(k..<k + 1).base,
                        count: width, momentum: mu, restart: restart, nesterov: nesterov, weightUpdate: nil)
                }
            }
        }
    }

    public mutating func commitStagedRows(_ rows: [Int]) {
        scatterRows(rows, from: stagedVelocity, into: &velocity)
        started = true
    }
}

extension MomentumSGD {
    public func encode(to writer: inout StateWriter) {
        writer.write(started)
        writer.write(velocity)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        started = try reader.readBool()
        try reader.read(into: &velocity, what: "velocity")
    }
}

/// The shared end of a first-order rule's `stage`: `kernel` computes the rule's new state and
/// its step from the gradient in `direction`, and either writes the new weight itself, through
/// the fused update it is given (no clipping; weight decay of either mode folded into the same
/// pass), or, under update-norm clipping, writes the step over `direction` for
/// `stageWeightUpdate` (L2 decay added to `direction` first). Weight decay, of either mode,
/// applies to the first `weightColumns` columns only. Returns whether every new value is finite.
func stageStep<Scalar: BLASScalar>(
    direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newWeight: inout Matrix<Scalar>,
    learningRate lr: Scalar, maxUpdateNorm: Double?, decay: Scalar, mode: WeightDecayMode, weightColumns: Int,
    kernel: (inout Matrix<Scalar>, FusedWeightUpdate<Scalar>?) -> Bool
) -> Bool {
    let l2Decay = mode == .l2 && weightColumns > 0 ? decay : 0
    let decoupledDecay = mode == .decoupled ? decay : 0
    guard maxUpdateNorm == nil else {
        if l2Decay != 0 { addToWeightColumns(l2Decay, of: weight, into: &direction, weightColumns: weightColumns) }
        let finite = kernel(&direction, nil)
        return stageWeightUpdate(
            direction, weight: weight, into: &newWeight, learningRate: lr, maxUpdateNorm: maxUpdateNorm,
            decoupledDecay: decoupledDecay, weightColumns: weightColumns) && finite
    }
    let columns = weight.columns
    return weight.withView { w in
        newWeight.withMutableView { target in
            kernel(&direction, FusedWeightUpdate(
                weight: w.base, newWeight: target.base, keep: weightColumns > 0 ? 1 - lr * decoupledDecay : 1, rate: lr,
                decay: l2Decay,
                decayedColumns: weightColumns < columns ? .init(rowLength: columns, columns: weightColumns) : nil))
        }
    }
}

/// The end of every first-order step, into `newWeight`: `W′ = W − s·U`, with `s = lr` or, when
/// `lr·‖U‖` exceeds `maxUpdateNorm`, the rate that brings it down to it; for decoupled weight
/// decay `W′ = (1 − lr·wd)·W − s·U` on the weight columns. Returns whether W′ is finite.
func stageWeightUpdate<Scalar: BLASScalar>(
    _ update: Matrix<Scalar>, weight: Matrix<Scalar>, into newWeight: inout Matrix<Scalar>,
    learningRate lr: Scalar, maxUpdateNorm: Double?, decoupledDecay: Scalar, weightColumns: Int
) -> Bool {
    var scale = lr
    if let maxUpdateNorm {
        let norm = Double(lr) * Double(BLAS.nrm2(update))
        if norm > maxUpdateNorm { scale = Scalar(Double(lr) * maxUpdateNorm / norm) }
    }
    let keep = 1 - lr * decoupledDecay
    let (rows, columns) = (weight.rows, weight.columns)
    return withViews(update, weight, mutating: &newWeight) { u, w, target in
        if decoupledDecay == 0 || weightColumns == columns {
            return Scalar.scaledUpdate(
                w.base, keep: decoupledDecay == 0 ? 1 : keep, minus: scale, times: u.base, into: target.base,
                count: w.count)
        }
        // Row by row: the weight columns decay, the bias columns do not.
        let (weights, biases) = (0..<weightColumns, weightColumns..<columns)
        var finite = true
        for i in 0..<rows {
            let row = i..<i + 1
            finite = Scalar.scaledUpdate(
                w.rows(row).columns(weights).base, keep: keep, minus: scale, times: u.rows(row).columns(weights).base,
                into: target.rows(row).columns(weights).base, count: weights.count) && finite
            finite = Scalar.scaledUpdate(
                w.rows(row).columns(biases).base, keep: 1, minus: scale, times: u.rows(row).columns(biases).base,
                into: target.rows(row).columns(biases).base, count: biases.count) && finite
        }
        return finite
    }
}

/// `Y[:, 0..<weightColumns] += α·X[:, 0..<weightColumns]` (X and Y of one shape): one AXPY
/// when every column is a weight, one per row otherwise.
func addToWeightColumns<Scalar: BLASScalar>(
    _ alpha: Scalar, of x: Matrix<Scalar>, into y: inout Matrix<Scalar>, weightColumns: Int
) {
    let (rows, columns) = (y.rows, y.columns)
    guard weightColumns > 0 else { return }
    x.withView { x in
        y.withMutableView { y in
            if weightColumns == columns {
                BLAS.axpy(alpha, x.flattened, into: y.flattened)
                return
            }
            for i in 0..<rows {
                BLAS.axpy(alpha, x.rows(i..<i + 1).columns(0..<weightColumns), into: y.rows(i..<i + 1).columns(0..<weightColumns))
            }
        }
    }
}
