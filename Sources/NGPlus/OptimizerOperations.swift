import NGKernels

/// The operations of the optimizers, as their errors name them (SGD's and Adam's, and every
/// optimizer's `observe`, `step` and `load`, are made from the optimizer's name by `LayerTable`).
extension NGError.Operation {
    /// `KFACOptimizer.init`
    public static let kfacInit = Self("KFACOptimizer.init")
    /// `KFACOptimizer.refreshHealth`
    public static let kfacRefreshHealth = Self("KFACOptimizer.refreshHealth")
    /// `KFACOptimizer.register`
    public static let kfacRegister = Self("KFACOptimizer.register")
    /// `KFACOptimizer.skippedSteps`
    public static let kfacSkippedSteps = Self("KFACOptimizer.skippedSteps")
    /// `NGPlusOptimizer.init`
    public static let ngPlusInit = Self("NGPlusOptimizer.init")
    /// `NGPlusOptimizer.plan`
    public static let ngPlusPlan = Self("NGPlusOptimizer.plan")
    /// `NGPlusOptimizer.refreshHealth`
    public static let ngPlusRefreshHealth = Self("NGPlusOptimizer.refreshHealth")
    /// `NGPlusOptimizer.register`
    public static let ngPlusRegister = Self("NGPlusOptimizer.register")
    /// `NGPlusOptimizer.skippedSteps`
    public static let ngPlusSkippedSteps = Self("NGPlusOptimizer.skippedSteps")
    /// `NGPlusOptimizer.stepCount`
    public static let ngPlusStepCount = Self("NGPlusOptimizer.stepCount")
    /// `load`
    public static let load = Self("load")
    /// `save`
    public static let save = Self("save")
}
