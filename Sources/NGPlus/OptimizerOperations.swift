import NGKernels

/// The operations of the optimizers that are written out here; every other one is made from the
/// record's `stateKind` (`NGPlusOptimizer.step`, `KFACOptimizer.register`,
/// `SGDOptimizer.skippedSteps`…) by `LayerwiseOptimizer` and `LayerTable`.
extension NGError.Operation {
    /// `NGPlusOptimizer.plan`
    public static let ngPlusPlan = Self("NGPlusOptimizer.plan")
    /// `load`
    public static let load = Self("load")
    /// `save`
    public static let save = Self("save")
}
