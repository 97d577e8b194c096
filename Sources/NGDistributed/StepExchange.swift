import NGPlus

/// The buffers of a data-parallel step and the MPI collectives over them: the fused
/// all-reduce of gradients, shared statistics, the loss and the failure flags; the all-gathers
/// of Woodbury factor rows and of embedding lookups; the broadcasts of refreshes. Its arrays
/// grow to the largest step seen and keep their storage, so a warm step allocates nothing
/// outside MPI. Its methods take the optimizer and the slots as arguments of their own, so that
/// a layer's buffers and the exchange's are visited side by side.
struct StepExchange<Scalar: BLASScalar> {
    let communicator: Communicator
    /// Every process's rows of a global batch, in rank order, and their sum.
    let shares: [Int]
    let globalBatch: Int
    /// Where this process's time and traffic went, summed over the steps.
    var telemetry = DataParallelTelemetry()
    /// The all-reduce's buffer: gradients, shared statistics, the loss, a flag per process.
    var fused: [Scalar] = []
    /// The all-gather's buffer and its layout (Woodbury factor rows).
    var gathered: [Scalar] = []
    var gatherWidths: [(slot: Int, width: Int)] = []
    var gatherCounts: [Int32]
    var gatherDisplacements: [Int32]
    /// The embedding all-gathers: counts and displacements (indices, then values, per process),
    /// and their buffers.
    var embeddingCounts: [Int32] = []
    var embeddingDisplacements: [Int32] = []
    var embeddingIndices: [Int64] = []
    var embeddingValues: [Scalar] = []
    /// The refreshes due this step and their owners, and the buffers they are broadcast in.
    var refreshSchedule = RefreshSchedule()
    var refreshValues: [Scalar] = []
    var refreshFigures: [Double] = []

    init(communicator: Communicator, shares: [Int], globalBatch: Int) {
        self.communicator = communicator
        self.shares = shares
        self.globalBatch = globalBatch
        gatherCounts = Array(repeating: 0, count: communicator.size)
        gatherDisplacements = Array(repeating: 0, count: communicator.size)
    }

    /// This process's rows of a global batch.
    var localRowCount: Int { shares[communicator.rank] }

    /// This process's weight in every sum: its share of the batch.
    var shareWeight: Scalar { Scalar(localRowCount) / Scalar(globalBatch) }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
