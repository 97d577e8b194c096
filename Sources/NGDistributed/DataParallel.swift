import NGPlus

/// Data-parallel training of any `StatisticsSharing` optimizer (all of the package's) over MPI,
/// as a `SynchronizedOptimizer`: every process trains on its rows of each global batch
/// (`localRows`); `synchronize` makes the gradients and the statistics those of the whole batch
/// with **one in-place `MPI_Allreduce`** over a fused buffer — every layer's gradient, the
/// statistics that this step shares (`StatisticsSharing`: NG+'s explicit GFIMs, K-FAC's
/// factors), the loss and a failure flag per process — plus one `MPI_Allgatherv` on steps where
/// a Woodbury plan gathers its factor's rows. Then every process steps its own copy of the
/// optimizer from the same numbers, so the processes stay identical without sending weights,
/// and the run gives the single-process answer up to the order of the sums.
///
/// Each process's contribution is weighted by its share of the batch, `B_r/B` (exact: see
/// `StatisticsSharing`). Configure the base optimizer with the **global** batch (NG+'s planner
/// then prices the whole batch's Woodbury rank), and register the same layers in the same order
/// on every process. A refresh that one process can make for all (`SharedRefresh`: explicit
/// inverses and Cholesky factors) is made by its owner — the largest first, to the least loaded
/// process — and broadcast; the others adopt it exactly (`shareRefreshes`). Woodbury refreshes
/// and NG+'s matrix form are made by every process from inputs they all hold.
///
/// Failures: a process whose `observe`, `submit` or `synchronize` checks fail throws its error,
/// and when it still calls `synchronize` (a layer left without its gradient, as after a failed
/// forward pass, is such a failure) its failure travels in the all-reduce: every other
/// process throws `DistributedError.peerFailed` from the same `synchronize`, before anything of
/// the step's synchronized values is used. A process that exits instead ends the run through
/// `mpirun`. After a failure the processes may have observed different statistics: restore a
/// checkpoint before going on.
public struct DataParallel<Base: StatisticsSharing>: SynchronizedOptimizer {
    public typealias Scalar = Base.Scalar

    /// The optimizer every process steps (the same on all of them).
    public internal(set) var base: Base
    /// The processes.
    public let communicator: Communicator
    /// The rows of a global batch, over all processes.
    public let globalBatch: Int
    public let localRows: Range<Int>
    /// Every process's rows of a global batch, in rank order.
    var shares: [Int] { exchange.shares }
    var slots: [ExchangeSlot<Scalar>] = []
    /// The step's buffers and collectives.
    var exchange: StepExchange<Scalar>
    /// Where this process's time and traffic went, summed over the steps.
    public var telemetry: DataParallelTelemetry {
        var telemetry = exchange.telemetry
        telemetry.collectives += batchSums.collectives
        telemetry.communicationSeconds += batchSums.seconds
        telemetry.batchStatisticsValues = batchSums.values
        return telemetry
    }
    /// This process's first failure of the current step, reported in `synchronize`.
    var failure: (any Error)?
    var layoutChecked = false
    /// Batch normalization's sums over the processes.
    let batchSums: BatchStatisticsSums

    /// Wraps `base` (no layers registered yet) for the processes of `communicator`, which split
    /// every global batch of `globalBatch` rows in rank order by whole samples of
    /// `rowsPerSample` rows (a sequence model's tokens: each process must hold whole sequences),
    /// the first processes one sample more when they do not divide evenly.
    /// - Throws: `NGError.invalidArgument` when the rows are not whole samples or the samples
    ///   fewer than the processes; `DistributedError.mismatch` when the processes were given
    ///   different batches.
    public init(_ base: Base, communicator: Communicator, globalBatch: Int, rowsPerSample: Int = 1) throws {
        try NGError.Operation.dataParallelInit.require(
            rowsPerSample >= 1 && globalBatch % rowsPerSample == 0 && globalBatch / rowsPerSample >= communicator.size, "globalBatch",
            "\(globalBatch) rows in samples of \(rowsPerSample) cannot be split over \(communicator.size) processes")
        var values: [Int64] = [Int64(globalBatch), Int64(rowsPerSample), -Int64(globalBatch), -Int64(rowsPerSample)]
        try communicator.allReduceMax(&values)
        guard values[0] == -values[2], values[1] == -values[3] else {
            throw DistributedError.mismatch(operation: .dataParallelInit, what: "the global batch")
        }
        self.base = base
        self.communicator = communicator
        self.globalBatch = globalBatch
        let shares = communicator.rowShares(globalBatch: globalBatch, rowsPerSample: rowsPerSample)
        let start = shares[..<communicator.rank].reduce(0, +)
        localRows = start..<start + shares[communicator.rank]
        exchange = StepExchange(communicator: communicator, shares: shares, globalBatch: globalBatch)
        batchSums = BatchStatisticsSums(
            communicator: communicator, localShare: Double(shares[communicator.rank]) / Double(globalBatch))
    }

    /// Every process's sums of batch normalization's statistics: a model registered with this
    /// optimizer normalizes by the whole batch's (synchronized batch normalization).
    public var crossProcessSums: (any CrossProcessSums)? { batchSums }

    /// This process's weight in every sum: its share of the batch.
    var shareWeight: Scalar { exchange.shareWeight }

    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        let handle = try base.register(spec)
        slots.append(ExchangeSlot(handle: handle, spec: spec))
        layoutChecked = false
        return handle
    }

    public func usesObservation(_ layer: LayerHandle) -> Bool {
        base.usesObservation(layer)
    }

    public mutating func observe(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelObserve)
            let multiple = try this.requireLocalRows(inputs, slot: i, .dataParallelObserve, "inputs")
            try this.base.observe(layer, inputs: inputs, outputGradients: outputGradients)
            this.slots[i].observed = true
            this.slots[i].rowsPerBatchRow = multiple
        }
    }

    public func takesSampleGradients(_ layer: LayerHandle) -> Bool {
        base.takesSampleGradients(layer)
    }

    /// This process's per-sample gradients of a conv2d layer, one sample per row it trains on.
    public mutating func observe(_ layer: LayerHandle, sampleGradients: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelObserve)
            if case let .conv2d(_, outChannels, _) = this.slots[i].spec {
                try sampleGradients.requireShape(
                    Shape(sampleGradients.rows, this.localRows.count * outChannels), .dataParallelObserve,
                    "sampleGradients (one sample per row of this process)")
            }
            try this.base.observe(layer, sampleGradients: sampleGradients)
            this.slots[i].observed = true
            this.slots[i].rowsPerBatchRow = 1
        }
    }

    public mutating func submit(_ layer: LayerHandle, gradient: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelSubmit)
            try gradient.requireShape(this.slots[i].gradient.shape, .dataParallelSubmit, "gradient")
            copyValues(gradient, into: &this.slots[i].gradient)
            this.slots[i].submitted = true
        }
    }

    public mutating func submit(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelSubmit)
            guard case let .dense(_, _, bias) = this.slots[i].spec else {
                throw NGError.invalidArgument(
                    operation: .dataParallelSubmit, argument: "layer",
                    reason: "layer \(i) is not dense: submit its gradient instead")
            }
            let multiple = try this.requireLocalRows(inputs, slot: i, .dataParallelSubmit, "inputs")
            try DenseGradient.weightGradient(
                inputs: inputs, outputGradients: outputGradients, bias: bias, into: &this.slots[i].gradient)
            this.slots[i].submitted = true
            this.slots[i].rowsPerBatchRow = multiple
        }
    }

    public mutating func submit(_ layer: LayerHandle, lookups: [Int], outputGradients: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelSubmit)
            guard var exchange = this.slots[i].embedding else {
                throw NGError.invalidArgument(
                    operation: .dataParallelSubmit, argument: "layer",
                    reason: "layer \(i) is not an embedding table: submit its gradient instead")
            }
            this.slots[i].embedding = nil
            defer { this.slots[i].embedding = exchange }
            try exchange.submit(
                lookups: lookups, outputGradients: outputGradients, localRowCount: this.localRows.count,
                weight: this.shareWeight, .dataParallelSubmit)
            this.slots[i].submitted = true
        }
    }

    public mutating func synchronize(loss: Double) throws -> Double {
        let operation = NGError.Operation.dataParallelSynchronize
        defer {
            failure = nil
            for i in slots.indices { (slots[i].submitted, slots[i].observed) = (false, false) }
        }
        // A refresh prepared by an earlier, failed synchronize is not this step's.
        for i in slots.indices { slots[i].preparedRefresh = nil }
        checkRound(operation)
        if !layoutChecked { try checkLayout() }
        let sumsFailure = batchSums.takeFailure()
        let reduced = try exchange.reduce(loss: loss, failure: failure ?? sumsFailure, base: &base, slots: &slots)
        try exchange.gatherEmbeddings(slots: &slots)
        try exchange.gatherFactorRows(base: &base, slots: slots)
        try exchange.shareRefreshes(base: &base, slots: &slots)
        for i in slots.indices { slots[i].synchronized = true }
        exchange.telemetry.steps += 1
        return reduced
    }

    /// The update of `layer` from the whole batch's synchronized gradient, which replaces what
    /// this process submitted.
    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, submitted: SubmittedGradient<Scalar>
    ) throws {
        try step(layer, weight: &weight)
    }

    /// The update of `layer` from the whole batch's synchronized gradient.
    public mutating func step(_ layer: LayerHandle, weight: inout Matrix<Scalar>) throws {
        let i = try index(of: layer, .dataParallelStep)
        try NGError.Operation.dataParallelStep.require(
            slots[i].synchronized, "layer",
            "layer \(i) has no synchronized gradient: submit it and synchronize() first")
        if let exchange = slots[i].embedding {
            try base.step(layer, table: &weight, lookups: exchange.lookups, outputGradients: exchange.rows)
        } else {
            try base.step(layer, weight: &weight, gradient: slots[i].gradient, refresh: slots[i].preparedRefresh)
        }
        slots[i].synchronized = false
        slots[i].preparedRefresh = nil
    }

    /// What the base optimizer does with a non-finite gradient or observation. The gradients it
    /// sees are the same on every process, so `.skipStep` skips the same steps everywhere.
    public var nonFinitePolicy: NonFiniteStepPolicy {
        get { base.nonFinitePolicy }
        set { base.nonFinitePolicy = newValue }
    }

    /// Restores the base optimizer's state (saved by any process, at any number of processes:
    /// the state does not depend on it). Every process restores the same bytes.
    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        try base.restore(stateBytes: stateBytes)
    }
}
