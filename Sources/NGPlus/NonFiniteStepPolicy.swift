/// What an optimizer does with a step whose gradient, observation or update is not finite (a
/// NaN or an infinity given, or finite inputs whose products overflow).
public enum NonFiniteStepPolicy: String, Sendable, Codable, CaseIterable {
    /// The step throws `nonFinite`, naming the argument and the first bad index, and changes
    /// nothing. The default.
    case throwError
    /// The step is skipped — nothing changes, as on a throw — and counted
    /// (`skippedSteps(of:)`): the "skip on overflow" convention of mixed-precision training.
    /// A non-finite observation is dropped and the layer's coming step skipped. A non-finite
    /// *weight* still throws: it is damage, not an overflow to wait out.
    case skipStep
}
