/// How far down the failure ladder a refresh went before it had an inverse to use.
public enum RefreshRung: Int, Sendable, Codable, Comparable, CaseIterable {
    /// The shift the damping rule asked for factored.
    case requestedShift
    /// A larger shift factored (`ShiftLadder`: ×growth per retry, at least the matrix's
    /// rounding level).
    case largerShift
    /// The matrix would not factor in its own precision (Float) at any shift tried; the same
    /// shifts in Double did, and the result, finite in Float, is used.
    case doublePrecision
    /// No shift factored in any precision: the optimizer kept the inverse already in use
    /// (set by the optimizers, which alone know whether there is one).
    case keptPreviousInverse

    public static func < (a: RefreshRung, b: RefreshRung) -> Bool { a.rawValue < b.rawValue }
}
