/// The SGD rule of `SGDSettings` for one parameter: its velocity and one step, written with BLAS
/// level-1 calls only (so it runs at C speed whatever the generic specialization) and without
/// allocating. `SGDOptimizer` is this rule alone; NG+ and K-FAC apply it after preconditioning.
public struct MomentumSGD<Scalar: BLASScalar>: FirstOrderRule, Equatable {
    public static var stateKind: String { "SGDOptimizer" }
    var velocity: Matrix<Scalar>
    var started = false

    public init(shape: Shape) {
        velocity = Matrix(rows: shape.rows, columns: shape.columns)
    }

    public static func validate(_ settings: SGDSettings, _ operation: String) throws(NGError) {
        try settings.validate(operation)
    }

    /// One step at step count `t` (the direction buffer is overwritten): `d ← d + wd·W` (L2 mode, weight columns only);
    /// `v ← μ·v + d` (v = d on the first step); `s = d + μ·v` (Nesterov) or `s = v`;
    /// optional clipping of `lr·s`; `W ← W − lr·s` (and `W ← W − lr·wd·W` decoupled).
    /// `direction` must have W's shape (the callers validate it).
    public mutating func step(
        direction: inout Matrix<Scalar>, weight: inout Matrix<Scalar>, weightColumns: Int,
        settings: SGDSettings, t: Int
    ) {
        let lr = Scalar(settings.learningRate.value(at: t))
        let mu = Scalar(settings.momentum)
        let decay = Scalar(settings.weightDecay)
        let count = weight.rows * weight.columns
        if decay != 0, settings.weightDecayMode == .l2 {
            addToWeightColumns(decay, of: weight, into: &direction, weightColumns: weightColumns)
        }
        velocity.withUnsafeMutableBufferPointer { v in
            direction.withUnsafeMutableBufferPointer { d in
                if started && mu != 0 {
                    Scalar.scal(n: count, alpha: mu, x: v.baseAddress!, incx: 1)
                    Scalar.axpy(n: count, alpha: 1, x: d.baseAddress!, incx: 1, y: v.baseAddress!, incy: 1)
                } else {
                    v.baseAddress!.update(from: d.baseAddress!, count: count)
                }
                if settings.nesterov {
                    Scalar.axpy(n: count, alpha: mu, x: v.baseAddress!, incx: 1, y: d.baseAddress!, incy: 1)
                } else {
                    d.baseAddress!.update(from: v.baseAddress!, count: count)
                }
            }
        }
        started = true
        applyUpdate(
            direction, to: &weight, learningRate: lr, maxUpdateNorm: settings.maxUpdateNorm,
            decoupledDecay: settings.weightDecayMode == .decoupled ? decay : 0, weightColumns: weightColumns)
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

/// The end of every first-order step: `W ← W − s·U`, with `s = lr` or, when `lr·‖U‖` exceeds
/// `maxUpdateNorm`, the rate that brings it down to it; and, for decoupled weight decay,
/// `W ← (1 − lr·wd)·W` on the weight columns first.
func applyUpdate<Scalar: BLASScalar>(
    _ update: Matrix<Scalar>, to weight: inout Matrix<Scalar>, learningRate lr: Scalar, maxUpdateNorm: Double?,
    decoupledDecay: Scalar, weightColumns: Int
) {
    var scale = lr
    if let maxUpdateNorm {
        let norm = Double(lr) * Double(BLAS.nrm2(update))
        if norm > maxUpdateNorm { scale = Scalar(Double(lr) * maxUpdateNorm / norm) }
    }
    if decoupledDecay != 0 {
        scaleWeightColumns(1 - lr * decoupledDecay, of: &weight, weightColumns: weightColumns)
    }
    update.withUnsafeBufferPointer { u in
        weight.withUnsafeMutableBufferPointer { w in
            Scalar.axpy(n: u.count, alpha: -scale, x: u.baseAddress!, incx: 1, y: w.baseAddress!, incy: 1)
        }
    }
}

/// `Y[:, 0..<weightColumns] += α·X[:, 0..<weightColumns]` (X and Y of one shape): one AXPY
/// when every column is a weight, one per row otherwise.
func addToWeightColumns<Scalar: BLASScalar>(
    _ alpha: Scalar, of x: Matrix<Scalar>, into y: inout Matrix<Scalar>, weightColumns: Int
) {
    let (rows, columns) = (y.rows, y.columns)
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            if weightColumns == columns {
                Scalar.axpy(n: rows * columns, alpha: alpha, x: px.baseAddress!, incx: 1, y: py.baseAddress!, incy: 1)
            } else if weightColumns > 0 {
                for i in 0..<rows {
                    Scalar.axpy(
                        n: weightColumns, alpha: alpha, x: px.baseAddress! + i * columns, incx: 1,
                        y: py.baseAddress! + i * columns, incy: 1)
                }
            }
        }
    }
}

/// `W[:, 0..<weightColumns] *= factor`: one SCAL when every column is a weight, one per row
/// otherwise.
func scaleWeightColumns<Scalar: BLASScalar>(
    _ factor: Scalar, of w: inout Matrix<Scalar>, weightColumns: Int
) {
    let (rows, columns) = (w.rows, w.columns)
    w.withUnsafeMutableBufferPointer { pw in
        if weightColumns == columns {
            Scalar.scal(n: rows * columns, alpha: factor, x: pw.baseAddress!, incx: 1)
        } else if weightColumns > 0 {
            for i in 0..<rows {
                Scalar.scal(n: weightColumns, alpha: factor, x: pw.baseAddress! + i * columns, incx: 1)
            }
        }
    }
}
