/// The settings of an optimizer that preconditions each layer with a curvature block and then
/// takes a base rule's step along the direction (`CurvatureLayer`): NG+ and K-FAC. The settings
/// decide, per layer kind, which block a layer gets, the schedule of its statistics and
/// refreshes, its damping and the base rule; `CurvatureLayer` runs the one step algorithm.
///
/// Conform to add a preconditioner whose blocks are among `CurvatureChoice`'s (DESIGN.md,
/// "Extending").
public protocol CurvatureSettings: OptimizerConfiguration {
    /// The optimizer's name in saved states and errors.
    static var stateKind: String { get }

    /// The oldest state-file format whose layers `CurvatureLayer` reads for these settings.
    static var oldestStateVersion: Int { get }

    /// Throws `invalidArgument` (or `nonPositiveDamping`) for a setting out of range.
    func validate(_ operation: NGError.Operation) throws(NGError)

    /// The block a layer of kind `spec` gets, planned for these settings.
    /// - Throws: `invalidArgument` when the settings cannot be met for `spec`.
    func curvature(for spec: LayerSpec, _ operation: NGError.Operation) throws(NGError) -> CurvatureChoice

    /// k: a layer's damped inverse is refreshed every k of its steps.
    var inverseInterval: Int { get }

    /// A layer of kind `spec` takes statistics every this many steps (a divisor of k).
    func statisticsInterval(for spec: LayerSpec) -> Int

    /// The step of the k-step cycle at which the layer registered `index`-th refreshes (0: all
    /// layers refresh together).
    func refreshOffset(ofLayer index: Int) -> Int

    /// λ at a layer's step `step`, in the layer kind's damping form.
    func dampingRule(for spec: LayerSpec, step: Int) -> DampingRule

    /// α of `F ← (1−α)·F + α·F_new` at each statistics step.
    var runningAverage: Double { get }

    /// The rule that steps along the preconditioned direction.
    var baseRule: PreconditionedStepSettings { get }

    /// Where the step's size comes from.
    var graft: StepGraft { get }

    /// κ of the trust region on each Kronecker-factored layer's step (`KLClip`); nil: none.
    var klClip: Double? { get }
}

extension CurvatureSettings {
    /// The preconditioned direction's own size, unless the settings say otherwise.
    public var graft: StepGraft { .none }

    /// No trust region, unless the settings say otherwise.
    public var klClip: Double? { nil }

    /// Every format the library reads.
    public static var oldestStateVersion: Int { StateFile.oldestVersion }
}

/// Which curvature block a layer gets (`CurvatureSettings.curvature(for:_:)`).
public enum CurvatureChoice: Sendable, Equatable {
    /// No curvature: the base rule alone.
    case identity
    /// NG+'s GFIM from per-sample statistics of a dense or conv2d layer, on `plan`, with
    /// workspaces for `batch` samples and `maxRetries` retries of a failed factorization.
    case perSample(CurvaturePlan, batch: Int, maxRetries: Int)
    /// NG+'s mini-batch GFIM form of a matrix parameter: `F ← β·F + (1−β)·M·Mᵀ` from
    /// `F₀ = ε·I`, the momentum starting as `start`.
    case matrixForm(CurvaturePlan, beta: Double, epsilon: Double, start: MatrixMomentumStart, maxRetries: Int)
    /// An embedding table's right-side GFIM, with `inputFactor` on the lookups' side.
    case embedding(CurvaturePlan, inputFactor: EmbeddingInputFactor, runningAverage: Double, maxRetries: Int)
    /// K-FAC's two Kronecker factors of a dense or conv2d layer, the input factor's inverse
    /// explicit or low-rank (`.woodbury`, a dense layer's only: `KFACFlops.inputMethod`).
    case kroneckerFactors(batch: Int, maxRetries: Int, inputMethod: CurvatureMethod)
}
