import NGPlus

/// The operations of NGDistributed, as its errors name them.
extension NGError.Operation {
    /// `Communicator.world`
    public static let communicatorWorld = Self("Communicator.world")
    /// `Communicator.allReduceSum`
    public static let communicatorAllReduce = Self("Communicator.allReduceSum")
    /// `Communicator.allGather`
    public static let communicatorAllGather = Self("Communicator.allGather")
    /// `Communicator.broadcast`
    public static let communicatorBroadcast = Self("Communicator.broadcast")
    /// `DataParallel.init`
    public static let dataParallelInit = Self("DataParallel.init")
    /// `DataParallel.register`
    public static let dataParallelRegister = Self("DataParallel.register")
    /// `DataParallel.observe`
    public static let dataParallelObserve = Self("DataParallel.observe")
    /// `DataParallel.submit`
    public static let dataParallelSubmit = Self("DataParallel.submit")
    /// `DataParallel.synchronize`
    public static let dataParallelSynchronize = Self("DataParallel.synchronize")
    /// `DataParallel.step`
    public static let dataParallelStep = Self("DataParallel.step")
}
