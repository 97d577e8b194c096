import NGKernels

/// The kernel choice of this ngbench process, made once at start (`main.swift`).
enum BenchKernels {
    static let selection = KernelSelection.ensureFittingKernels()

    /// The JSON name of the decision.
    static var choiceName: String {
        switch selection.decision {
        case .detected: "detected"
        case .forcedByUser: "forced_by_user"
        case .reexecuted: "reexecuted_after_self_check"
        case .keptFallback: "kept_fallback"
        case .disabled: "selection_disabled"
        }
    }
}
