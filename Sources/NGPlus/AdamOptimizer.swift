import Foundation

/// Settings of the Adam baseline (Kingma & Ba), as PyTorch's Adam and AdamW compute it.
public struct AdamSettings: Sendable, Equatable, Codable {
    public var learningRate: Schedule
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Weight decay on weight columns: `l2` adds it to the gradient (Adam), `decoupled`
    /// shrinks the weights directly (AdamW).
    public var weightDecay: Double
    public var weightDecayMode: WeightDecayMode
    /// When set, an update whose Frobenius norm exceeds this is scaled down to it.
    public var maxUpdateNorm: Double?

    public init(
        learningRate: Schedule = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0, weightDecayMode: WeightDecayMode = .l2, maxUpdateNorm: Double? = nil
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.weightDecayMode = weightDecayMode
        self.maxUpdateNorm = maxUpdateNorm
    }

    func validate(_ operation: NGError.Operation) throws(NGError) {
        try learningRate.validate(operation, "learningRate")
        try operation.requireFraction(beta1, "beta1")
        try operation.requireFraction(beta2, "beta2")
        try operation.requirePositive(epsilon, "epsilon")
        try operation.requireNonNegative(weightDecay, "weightDecay")
        try operation.requirePositive(maxUpdateNorm, "maxUpdateNorm")
    }
}

/// The Adam rule of `AdamSettings` for one parameter: its first and second moments and one
/// step. `AdamOptimizer` is this rule alone.
public struct Adam<Scalar: BLASScalar>: FirstOrderRule {
    public static var stateKind: String { "AdamOptimizer" }
    var moments: AdamMoments<Scalar>

    public init(shape: Shape, stagedRows: Int) {
        moments = AdamMoments(shape: shape, stagedRows: stagedRows)
    }

    public mutating func reserveStagedRows(_ count: Int) {
        moments.reserveStagedRows(count)
    }

    public static func validate(_ settings: AdamSettings, _ operation: NGError.Operation) throws(NGError) {
        try settings.validate(operation)
    }

    public func encode(to writer: inout StateWriter) {
        moments.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        try moments.restore(from: &reader, owner: "Adam")
    }

    /// One Adam step at step count t from the gradient in `update` (overwritten), staged.
    public mutating func stage(
        direction update: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newWeight: inout Matrix<Scalar>,
        weightColumns: Int, settings: AdamSettings, t: Int
    ) -> Bool {
        return stageStep(
            direction: &update, weight: weight, into: &newWeight,
            learningRate: Scalar(settings.learningRate.value(at: t)), maxUpdateNorm: settings.maxUpdateNorm,
            decay: Scalar(settings.weightDecay), mode: settings.weightDecayMode, weightColumns: weightColumns
        ) { update, weightUpdate in
            moments.stage(
                &update, beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon, t: t,
                weightUpdate: weightUpdate)
        }
    }

    public mutating func commitStaged() {
        moments.commitStaged()
    }

    /// `stage` on the looked-up rows of a table (lazy Adam, as PyTorch's `SparseAdam`): the
    /// bias corrections use the layer's step count t, so a row first looked up late takes a
    /// smaller first step than dense Adam's first step.
    public mutating func stageRows(
        _ rows: [Int], direction update: inout Matrix<Scalar>, weight: Matrix<Scalar>,
        into newRows: inout Matrix<Scalar>, settings: AdamSettings, t: Int
    ) -> Bool {
        let decay = Scalar(settings.weightDecay)
        let lr = Scalar(settings.learningRate.value(at: t))
        let (decoupledDecay, l2Decay) = settings.weightDecayMode == .decoupled ? (decay, 0) : (0, decay)
        let (b1, b2, eps) = (settings.beta1, settings.beta2, settings.epsilon)
        guard let maxUpdateNorm = settings.maxUpdateNorm else {
            return weight.withView { w in
                newRows.withMutableView { target in
                    moments.stageRows(
                        rows, &update, beta1: b1, beta2: b2, epsilon: eps, t: t,
                        weightUpdate: FusedWeightUpdate(
                            weight: w.base, newWeight: target.base, keep: 1 - lr * decoupledDecay, rate: lr,
                            decay: l2Decay))
                }
            }
        }
        let correction1 = AdamMoments<Scalar>.biasCorrection(b1, t: t)
        let correction2 = AdamMoments<Scalar>.biasCorrection(b2, t: t)
        let width = weight.columns
        return withViews(moments.first, moments.second, mutating: &moments.stagedFirst) { m, v, mNew in
            moments.stagedSecond.withMutableView { vNew in
                stageClippedRowSteps(
                    rows, direction: &update, weight: weight, into: &newRows, state: m, v, learningRate: lr,
                    maxUpdateNorm: maxUpdateNorm, decoupledDecay: decoupledDecay, l2Decay: l2Decay
                ) { k, row, gradient in
                    Scalar.adamUpdate(
                        gradient: gradient, firstMoment: m.rows(row..<row + 1).base,
                        secondMoment: v.rows(row..<row + 1).base, intoFirst: mNew.rows(k..<k + 1).base,
                        intoSecond: vNew.rows(k..<k + 1).base, count: width, beta1: Scalar(b1), beta2: Scalar(b2),
                        correction1: correction1, correction2: correction2, epsilon: Scalar(eps), weightUpdate: nil)
                }
            }
        }
    }

    public mutating func commitStagedRows(_ rows: [Int]) {
        moments.commitStagedRows(rows)
    }
}
