/// The flop model of K-FAC's curvature of one dense or conv2d layer, with A of order a (the
/// inputs, plus one with a bias), G of order m (the outputs), B the batch and `rows` the rows of
/// a statistics step (B, or B·P positions for a convolution), by the form of the input factor:
///
/// |             | explicit A (Cholesky inverse)  | low-rank A (Woodbury, r = B rows)   |
/// |-------------|--------------------------------|-------------------------------------|
/// | statistics  | (a² + m²)·rows                 | m²·rows (A's rows are a copy)       |
/// | refresh     | a³ + m³                        | 3·B²·a + B³/3 + m³                  |
/// | apply ∇W̃·A⁻¹ | 2·m·a²                         | 4·m·a·B                             |
/// | apply X̃·A⁻¹  | 2·B·a²                         | 4·B²·a                              |
///
/// The apply is beyond the weight gradient's GEMM, in the cheaper order: formed,
/// `G⁻¹·∇W̃` (2·m²·a) then `·A⁻¹`; or for a dense layer low-rank, `dY·G⁻¹` (2·B·m²) and
/// `X̃·A⁻¹` (`KFACCurvature.applyDense`).
struct KFACFlops: Sendable, Equatable {
    let outputs: Double
    let inputOrder: Double
    private(set) var batch: Double
    private(set) var rows: Double
    /// Whether the layer is dense: only a dense layer's batch can be applied in the low-rank
    /// order, and only its input factor kept low-rank.
    let dense: Bool
    let inputMethod: CurvatureMethod

    /// The model of a dense or conv2d layer's factors at `batch` rows.
    init(spec: LayerSpec, batch: Int, inputMethod: CurvatureMethod) {
        switch spec {
        case let .dense(outputs, inputs, bias):
            (self.outputs, inputOrder, rows, dense) = (Double(outputs), Double(inputs + (bias ? 1 : 0)), Double(batch), true)
        case let .conv2d(geometry, outChannels, bias):
            outputs = Double(outChannels)
            inputOrder = Double(geometry.patchSize + (bias ? 1 : 0))
            rows = Double(batch * geometry.positions)
            dense = false
        case .matrix, .vector, .embedding:
            preconditionFailure("K-FAC's factors are for dense and conv2d layers")
        }
        self.batch = Double(batch)
        self.inputMethod = inputMethod
    }

    /// The same layer at a batch of `batch` rows (a step's batch, against the planned one).
    func at(batch: Int) -> Self {
        var model = self
        (model.batch, model.rows) = (Double(batch), rows / self.batch * Double(batch))
        return model
    }

    var lowRankInput: Bool { inputMethod == .woodbury }

    /// One statistics step.
    var statistics: Double {
        let (a, m) = (inputOrder, outputs)
        return ((lowRankInput ? 0 : a * a) + m * m) * rows
    }

    /// One refresh of both inverses.
    var refresh: Double {
        let (a, m, b) = (inputOrder, outputs, batch)
        return (lowRankInput ? 3 * b * b * a + b * b * b / 3 : a * a * a) + m * m * m
    }

    /// The apply in the formed order: `G⁻¹·∇W̃·A⁻¹`.
    var formedApply: Double {
        let (a, m, b) = (inputOrder, outputs, batch)
        return 2 * m * m * a + (lowRankInput ? 4 * m * a * b : 2 * m * a * a)
    }

    /// The apply in the low-rank order, `(dY·G⁻¹)ᵀ·(X̃·A⁻¹)`; nil for a convolution.
    var lowRankApply: Double? {
        guard dense else { return nil }
        let (a, m, b) = (inputOrder, outputs, batch)
        return 2 * b * m * m + (lowRankInput ? 4 * b * b * a : 2 * b * a * a)
    }

    /// The apply in the cheaper order.
    var apply: Double { Swift.min(formedApply, lowRankApply ?? .infinity) }

    /// Whether the low-rank order is the cheaper.
    var appliesLowRank: Bool { (lowRankApply ?? .infinity) < formedApply }

    /// The trust region's `⟨D, ∇W̃⟩` (`KFACCurvature.gradientProduct`): the product of D and
    /// ∇W̃ (2·m·a), with ∇W̃ formed (2·B·m·a) when the low-rank order did not form it — or, in
    /// that order, from the apply's rows: two B × B products, their product and X̃'s column of
    /// ones, at most 2·B²·(m + a + 1).
    var gradientProduct: Double {
        guard appliesLowRank else { return 2 * outputs * inputOrder }
        return gradientProductFromRows ? productFromRows : productOfFormed
    }

    /// Whether `gradientProduct` is taken from the apply's rows: where it costs at most ¾ of
    /// ∇W̃ formed, since its B × B products run slower than the weight gradient's product at
    /// equal flops (256 → 256 at B = 128 on two Zen 4 cores: 0.11 ms against 0.085; 784 → 256,
    /// ⅔ of the flops: 0.21 against 0.26–0.49; docs/measurements/kfac-trust-region-rows-2026-12-08.md).
    var gradientProductFromRows: Bool { appliesLowRank && productFromRows <= 0.75 * productOfFormed }

    private var productFromRows: Double { 2 * batch * batch * (outputs + inputOrder + 1) }
    private var productOfFormed: Double { 2 * (batch + 1) * outputs * inputOrder }

    /// A step's flops beyond SGD's: the apply, statistics every s steps, a refresh every k.
    func perStep(inverseInterval k: Double, statisticsInterval s: Double) -> Double {
        apply + statistics / s + refresh / k
    }

    /// The input factor's form: low-rank where it is exact (a dense layer, a running average of
    /// 1 and statistics only at refresh steps: A is then one batch's Gram, of rank ≤ B), its
    /// rank is below half its order (as NG+'s automatic Woodbury, for the same accuracy reason:
    /// docs/ALGORITHM.md §7), and a step costs fewer flops; explicit otherwise.
    static func inputMethod(
        for spec: LayerSpec, batch: Int, lowRankAllowed: Bool, inverseInterval k: Int, statisticsInterval s: Int
    ) -> CurvatureMethod {
        let explicit = Self(spec: spec, batch: batch, inputMethod: .explicitInverse)
        guard lowRankAllowed, explicit.dense, 2 * explicit.batch < explicit.inputOrder else { return .explicitInverse }
        let lowRank = Self(spec: spec, batch: batch, inputMethod: .woodbury)
        let (k, s) = (Double(k), Double(s))
        return lowRank.perStep(inverseInterval: k, statisticsInterval: s)
            < explicit.perStep(inverseInterval: k, statisticsInterval: s) ? .woodbury : .explicitInverse
    }
}
