import NGPlus

/// Data-parallel training of any of the package's optimizers (NG+, K-FAC, SGD, Adam) over MPI,
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
    public private(set) var base: Base
    /// The processes.
    public let communicator: Communicator
    /// The rows of a global batch, over all processes.
    public let globalBatch: Int
    public let localRows: Range<Int>
    /// Every process's rows of a global batch, in rank order.
    let shares: [Int]
    var slots: [Slot] = []
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
    /// Where this process's time and traffic went, summed over the steps.
    public internal(set) var telemetry = DataParallelTelemetry()
    /// This process's first failure of the current step, reported in `synchronize`.
    var failure: (any Error)?
    var layoutChecked = false

    struct Slot {
        let handle: LayerHandle
        let spec: LayerSpec
        /// This process's gradient, then the whole batch's after `synchronize`.
        var gradient: Matrix<Scalar>
        var submitted = false
        var observed = false
        var synchronized = false
        /// An embedding table's lookups (its `gradient` then stays empty: the table's gradient
        /// never travels).
        var embedding: EmbeddingExchange<Scalar>?
    }

    /// Wraps `base` (no layers registered yet) for the processes of `communicator`, which split
    /// every global batch of `globalBatch` rows in rank order by whole samples of
    /// `rowsPerSample` rows (a sequence model's tokens: each process must hold whole sequences),
    /// the first processes one sample more when they do not divide evenly.
    /// - Throws: `NGError.invalidArgument` when the rows are not whole samples or the samples
    ///   fewer than the processes; `DistributedError.mismatch` when the processes were given
    ///   different batches.
    public init(_ base: Base, communicator: Communicator, globalBatch: Int, rowsPerSample: Int = 1) throws {
        guard rowsPerSample >= 1, globalBatch % rowsPerSample == 0, globalBatch / rowsPerSample >= communicator.size else {
            throw NGError.invalidArgument(
                operation: .dataParallelInit, argument: "globalBatch",
                reason: "\(globalBatch) rows in samples of \(rowsPerSample) cannot be split over \(communicator.size) processes")
        }
        var values: [Int64] = [Int64(globalBatch), Int64(rowsPerSample), -Int64(globalBatch), -Int64(rowsPerSample)]
        try communicator.allReduceMax(&values)
        guard values[0] == -values[2], values[1] == -values[3] else {
            throw DistributedError.mismatch(operation: .dataParallelInit, what: "the global batch")
        }
        self.base = base
        self.communicator = communicator
        self.globalBatch = globalBatch
        shares = communicator.rowShares(globalBatch: globalBatch, rowsPerSample: rowsPerSample)
        let start = shares[..<communicator.rank].reduce(0, +)
        localRows = start..<start + shares[communicator.rank]
        gatherCounts = Array(repeating: 0, count: communicator.size)
        gatherDisplacements = Array(repeating: 0, count: communicator.size)
    }

    /// This process's weight in every sum: its share of the batch.
    var shareWeight: Scalar { Scalar(localRows.count) / Scalar(globalBatch) }

    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        let handle = try base.register(spec)
        if case let .embedding(vocabulary, width) = spec {
            slots.append(Slot(
                handle: handle, spec: spec, gradient: Matrix(rows: 0, columns: 0),
                embedding: EmbeddingExchange(vocabulary: vocabulary, width: width)))
        } else {
            let shape = spec.parameterShape
            slots.append(Slot(handle: handle, spec: spec, gradient: Matrix(rows: shape.rows, columns: shape.columns)))
        }
        layoutChecked = false
        return handle
    }

    public func usesObservation(_ layer: LayerHandle) -> Bool {
        base.usesObservation(layer)
    }

    @_specialize(where Base == NGPlusOptimizer<Float>)
    @_specialize(where Base == KFACOptimizer<Float>)
    @_specialize(where Base == SGDOptimizer<Float>)
    @_specialize(where Base == AdamOptimizer<Float>)
    @_specialize(where Base == NGPlusOptimizer<Double>)
    @_specialize(where Base == KFACOptimizer<Double>)
    @_specialize(where Base == SGDOptimizer<Double>)
    @_specialize(where Base == AdamOptimizer<Double>)
    public mutating func observe(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelObserve)
            try this.requireLocalRows(inputs, .dataParallelObserve, "inputs")
            try this.base.observe(layer, inputs: inputs, outputGradients: outputGradients)
            this.slots[i].observed = true
        }
    }

    @_specialize(where Base == NGPlusOptimizer<Float>)
    @_specialize(where Base == KFACOptimizer<Float>)
    @_specialize(where Base == SGDOptimizer<Float>)
    @_specialize(where Base == AdamOptimizer<Float>)
    @_specialize(where Base == NGPlusOptimizer<Double>)
    @_specialize(where Base == KFACOptimizer<Double>)
    @_specialize(where Base == SGDOptimizer<Double>)
    @_specialize(where Base == AdamOptimizer<Double>)
    public mutating func submit(_ layer: LayerHandle, gradient: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelSubmit)
            try gradient.requireShape(this.slots[i].gradient.shape, .dataParallelSubmit, "gradient")
            gradient.withView { source in this.slots[i].gradient.withMutableView { $0.update(from: source) } }
            this.slots[i].submitted = true
        }
    }

    @_specialize(where Base == NGPlusOptimizer<Float>)
    @_specialize(where Base == KFACOptimizer<Float>)
    @_specialize(where Base == SGDOptimizer<Float>)
    @_specialize(where Base == AdamOptimizer<Float>)
    @_specialize(where Base == NGPlusOptimizer<Double>)
    @_specialize(where Base == KFACOptimizer<Double>)
    @_specialize(where Base == SGDOptimizer<Double>)
    @_specialize(where Base == AdamOptimizer<Double>)
    public mutating func submit(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws {
        try recordingFailure { (this: inout Self) throws in
            let i = try this.index(of: layer, .dataParallelSubmit)
            guard case let .dense(_, _, bias) = this.slots[i].spec else {
                throw NGError.invalidArgument(
                    operation: .dataParallelSubmit, argument: "layer",
                    reason: "layer \(i) is not dense: submit its gradient instead")
            }
            try this.requireLocalRows(inputs, .dataParallelSubmit, "inputs")
            try DenseGradient.weightGradient(
                inputs: inputs, outputGradients: outputGradients, bias: bias, into: &this.slots[i].gradient)
            this.slots[i].submitted = true
        }
    }

    @_specialize(where Base == NGPlusOptimizer<Float>)
    @_specialize(where Base == KFACOptimizer<Float>)
    @_specialize(where Base == SGDOptimizer<Float>)
    @_specialize(where Base == AdamOptimizer<Float>)
    @_specialize(where Base == NGPlusOptimizer<Double>)
    @_specialize(where Base == KFACOptimizer<Double>)
    @_specialize(where Base == SGDOptimizer<Double>)
    @_specialize(where Base == AdamOptimizer<Double>)
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

    @_specialize(where Base == NGPlusOptimizer<Float>)
    @_specialize(where Base == KFACOptimizer<Float>)
    @_specialize(where Base == SGDOptimizer<Float>)
    @_specialize(where Base == AdamOptimizer<Float>)
    @_specialize(where Base == NGPlusOptimizer<Double>)
    @_specialize(where Base == KFACOptimizer<Double>)
    @_specialize(where Base == SGDOptimizer<Double>)
    @_specialize(where Base == AdamOptimizer<Double>)
    public mutating func synchronize(loss: Double) throws -> Double {
        let operation = NGError.Operation.dataParallelSynchronize
        defer {
            failure = nil
            for i in slots.indices { (slots[i].submitted, slots[i].observed) = (false, false) }
        }
        checkRound(operation)
        if !layoutChecked { try checkLayout() }
        let reduced = try reduce(loss: loss)
        try gatherEmbeddings()
        try gatherFactorRows()
        try shareRefreshes()
        for i in slots.indices { slots[i].synchronized = true }
        telemetry.steps += 1
        return reduced
    }

    @_specialize(where Base == NGPlusOptimizer<Float>)
    @_specialize(where Base == KFACOptimizer<Float>)
    @_specialize(where Base == SGDOptimizer<Float>)
    @_specialize(where Base == AdamOptimizer<Float>)
    @_specialize(where Base == NGPlusOptimizer<Double>)
    @_specialize(where Base == KFACOptimizer<Double>)
    @_specialize(where Base == SGDOptimizer<Double>)
    @_specialize(where Base == AdamOptimizer<Double>)
    public mutating func step(_ layer: LayerHandle, weight: inout Matrix<Scalar>) throws {
        let i = try index(of: layer, .dataParallelStep)
        guard slots[i].synchronized else {
            throw NGError.invalidArgument(
                operation: .dataParallelStep, argument: "layer",
                reason: "layer \(i) has no synchronized gradient: submit it and synchronize() first")
        }
        if let exchange = slots[i].embedding {
            try base.step(layer, table: &weight, lookups: exchange.lookups, outputGradients: exchange.rows)
        } else {
            try base.step(layer, weight: &weight, gradient: slots[i].gradient)
        }
        slots[i].synchronized = false
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

    // MARK: - The step's parts

    /// Runs `body`, keeping its first error for `synchronize` to report to the other processes.
    mutating func recordingFailure(_ body: (inout Self) throws -> Void) throws {
        do {
            try body(&self)
        } catch {
            if failure == nil { failure = error }
            throw error
        }
    }

    /// The slot of `layer`: every layer is registered through this wrapper, so the base's
    /// handle indices are the slots' (no search, no generic iteration on the step path).
    func index(of layer: LayerHandle, _ operation: NGError.Operation) throws(OptimizerError) -> Int {
        guard slots.indices.contains(layer.index), slots[layer.index].handle == layer else {
            throw .unknownLayer(operation: operation, layer: layer.index)
        }
        return layer.index
    }

    func requireLocalRows(_ inputs: Matrix<Scalar>, _ operation: NGError.Operation, _ argument: String) throws(NGError) {
        guard inputs.rows == localRows.count else {
            throw .shapeMismatch(
                operation: operation, argument: "\(argument) (this process's rows of the batch)",
                expected: Shape(localRows.count, inputs.columns), actual: inputs.shape)
        }
    }

    /// Once after registration (at the first step no process failed): every process has the
    /// same layers and batch, so that every collective has the same layout everywhere. A
    /// process whose step failed before (its tables' lookups then unknown) says so in the same
    /// collective: it throws its error, the others `peerFailed`, not a mismatch.
    mutating func checkLayout() throws {
        let parameters = slots.reduce(0) { $0 + $1.spec.parameterShape.rows * $1.spec.parameterShape.columns }
        // The tables' lookups a row, weighted by position: a checksum of the gathers' layout.
        let lookups = slots.indices.reduce(0) { $0 + ($1 + 1) * (slots[$1].embedding?.perRow ?? 0) }
        let local: [Int64] = [Int64(slots.count), Int64(parameters), Int64(globalBatch), Int64(lookups)]
        let (size, rank, failed) = (communicator.size, communicator.rank, failure != nil)
        var values = local + local.map { -$0 } + (0..<size).map { $0 == rank && failed ? 1 : 0 }
        try communicator.allReduceMax(&values)
        let differs = { (k: Int) in values[k] != -values[local.count + k] }
        // The layers and the batch first (a process with a layer more also lacks its gradient),
        // then failures, then the lookups (unknown on a process that failed before submitting).
        if (0..<3).contains(where: differs) {
            throw DistributedError.mismatch(
                operation: .dataParallelSynchronize, what: "the layers registered (count, parameters) or the batch")
        }
        if let failure { throw failure }
        let ranks = (0..<size).filter { values[2 * local.count + $0] != 0 }
        if !ranks.isEmpty { throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: ranks) }
        if differs(3) {
            throw DistributedError.mismatch(operation: .dataParallelSynchronize, what: "the embedding tables' lookups a row")
        }
        layoutChecked = true
    }

    /// A failure for this step when a layer came without its gradient or its statistics.
    mutating func checkRound(_ operation: NGError.Operation) {
        guard failure == nil else { return }
        for i in slots.indices {
            let slot = slots[i]
            if !slot.submitted {
                failure = NGError.invalidArgument(
                    operation: operation, argument: "layer", reason: "layer \(i) has no gradient submitted this step")
                return
            }
            if base.sharedStatistics(of: slot.handle) != .none && !slot.observed {
                failure = OptimizerError.missingStatistics(operation: operation, layer: i, step: telemetry.steps)
                return
            }
        }
    }

    /// The one all-reduce: packs (weighted by this process's share), sums, checks every
    /// process's flag, unpacks. Returns the whole batch's mean loss.
    mutating func reduce(loss: Double) throws -> Double {
        var count = 0
        for i in slots.indices {
            count += slots[i].gradient.rows * slots[i].gradient.columns
            if case let .summed(values) = base.sharedStatistics(of: slots[i].handle) { count += values }
        }
        let total = count + 1 + communicator.size
        if fused.count < total { fused = Array(repeating: 0, count: total) }
        let (weight, rank, failed) = (shareWeight, communicator.rank, failure != nil)
        // Taken out while the layers' buffers are visited (no copy: the array moves).
        var fused: [Scalar] = []
        swap(&fused, &self.fused)
        defer { swap(&fused, &self.fused) }
        try fused.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            try forEachShared { values in
                pack(UnsafeBufferPointer(values), into: UnsafeMutableBufferPointer(rebasing: buffer[offset...]), scaledBy: weight)
                offset += values.count
            }
            buffer[offset] = Scalar(loss) * weight
            for r in 0..<communicator.size { buffer[offset + 1 + r] = r == rank && failed ? 1 : 0 }
            let started = ContinuousClock.now
            try communicator.allReduceSum(UnsafeMutableBufferPointer(rebasing: buffer[0..<total]))
            telemetry.communicationSeconds += Self.seconds(since: started)
            telemetry.collectives += 1
        }
        telemetry.allReduceValues += total
        if let failure { throw failure }
        if (0..<communicator.size).contains(where: { fused[count + 1 + $0] != 0 }) {
            let failedRanks = (0..<communicator.size).filter { fused[count + 1 + $0] != 0 }
            throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: failedRanks)
        }
        try fused.withUnsafeBufferPointer { buffer in
            var offset = 0
            try forEachShared { values in
                _ = values.update(fromContentsOf: buffer[offset..<offset + values.count])
                offset += values.count
            }
        }
        return Double(fused[count])
    }

    /// Visits, in the fused buffer's order, every layer's gradient and then its summed
    /// statistics when this step shares them.
    mutating func forEachShared(_ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) throws {
        for i in slots.indices {
            slots[i].gradient.withUnsafeMutableBufferPointer(body)
            if case .summed = base.sharedStatistics(of: slots[i].handle) {
                try base.withSummedStatistics(of: slots[i].handle, body)
            }
        }
    }

    /// The all-gather of the Woodbury layers' factor rows, when this step shares any: process
    /// r's block holds, layer after layer, its rows scaled by its share; every process then
    /// writes all blocks' rows into each factor in rank order.
    mutating func gatherFactorRows() throws {
        guard slots.indices.contains(where: {
            if case .gatheredRows = base.sharedStatistics(of: slots[$0].handle) { return true }
            return false
        }) else { return }
        var widths: [(slot: Int, width: Int)] = []
        swap(&widths, &gatherWidths)
        defer { swap(&widths, &gatherWidths) }
        widths.removeAll(keepingCapacity: true)
        for i in slots.indices {
            if case let .gatheredRows(width) = base.sharedStatistics(of: slots[i].handle) { widths.append((i, width)) }
        }
        let rowWidth = widths.reduce(0) { $0 + $1.width }
        var displacement = 0
        for r in shares.indices {
            gatherCounts[r] = Int32(shares[r] * rowWidth)
            gatherDisplacements[r] = Int32(displacement)
            displacement += shares[r] * rowWidth
        }
        if gathered.count < displacement { gathered = Array(repeating: 0, count: displacement) }
        let (weight, rank, local) = (shareWeight, communicator.rank, localRows.count)
        var gathered: [Scalar] = []
        swap(&gathered, &self.gathered)
        defer { swap(&gathered, &self.gathered) }
        try gathered.withUnsafeMutableBufferPointer { buffer in
            var offset = Int(gatherDisplacements[rank])
            for (slot, width) in widths {
                try base.withGatheredRows(of: slots[slot].handle, totalRows: local) { rows in
                    pack(
                        UnsafeBufferPointer(rebasing: rows[0..<local * width]),
                        into: UnsafeMutableBufferPointer(rebasing: buffer[offset...]), scaledBy: weight)
                }
                offset += local * width
            }
        }
        let started = ContinuousClock.now
        defer {
            telemetry.communicationSeconds += Self.seconds(since: started)
            telemetry.gatherValues += Int(gatherCounts[rank])
            telemetry.collectives += 1
        }
        try gathered.withUnsafeMutableBufferPointer { buffer in
            try gatherCounts.withUnsafeBufferPointer { counts in
                try gatherDisplacements.withUnsafeBufferPointer { displacements in
                    try communicator.allGather(
                        UnsafeMutableBufferPointer(rebasing: buffer[0..<displacement]), counts: counts,
                        displacements: displacements)
                }
            }
        }
        let (shares, displacements, total) = (shares, gatherDisplacements, globalBatch)
        try gathered.withUnsafeBufferPointer { buffer in
            var columnOffset = 0
            for (slot, width) in widths {
                try base.withGatheredRows(of: slots[slot].handle, totalRows: total) { rows in
                    var row = 0
                    for r in shares.indices {
                        let source = Int(displacements[r]) + shares[r] * columnOffset
                        let count = shares[r] * width
                        _ = UnsafeMutableBufferPointer(rebasing: rows[(row * width)..<(row * width + count)])
                            .update(fromContentsOf: buffer[source..<source + count])
                        row += shares[r]
                    }
                }
                columnOffset += width
            }
        }
    }
}

extension DataParallel {
    /// The refreshes due this step, each made by one process — its owner, chosen for balance
    /// (the largest refresh first, to the least loaded process) — which broadcasts it: every
    /// process first makes the refreshes it owns (so that refreshes of different layers run on
    /// different processes at the same time), then each process's records are broadcast from
    /// it, and the others adopt them. A refresh that fails on its owner travels as a flag: the
    /// owner throws its error, the others `peerFailed`, after every broadcast.
    mutating func shareRefreshes() throws {
        let (size, rank) = (communicator.size, communicator.rank)
        guard size > 1 else { return }
        var schedule = RefreshSchedule()
        swap(&schedule, &refreshSchedule)
        defer { swap(&schedule, &refreshSchedule) }
        schedule.plan(slotCount: slots.count, processes: size) { base.sharedRefresh(of: slots[$0].handle) }
        guard !schedule.isEmpty else { return }
        let (valueStart, figureStart, statusStart) = (schedule.valueStart, schedule.figureStart, schedule.statusStart)
        if refreshValues.count < valueStart[size] { refreshValues = Array(repeating: 0, count: valueStart[size]) }
        if refreshFigures.count < statusStart + size { refreshFigures = Array(repeating: 0, count: statusStart + size) }
        var values: [Scalar] = []
        var figures: [Double] = []
        swap(&values, &refreshValues)
        swap(&figures, &refreshFigures)
        defer {
            swap(&values, &refreshValues)
            swap(&figures, &refreshFigures)
        }

        var ownFailure: (any Error)?
        let started = ContinuousClock.now
        try values.withUnsafeMutableBufferPointer { values in
            try figures.withUnsafeMutableBufferPointer { figures in
                figures[statusStart + rank] = 0
                var (v, f) = (valueStart[rank], figureStart[rank])
                for d in schedule.slots.indices where schedule.owners[d] == rank && ownFailure == nil {
                    let refresh = schedule.refreshes[d]
                    do {
                        try base.makeSharedRefresh(
                            of: slots[schedule.slots[d]].handle,
                            values: UnsafeMutableBufferPointer(rebasing: values[v..<v + refresh.values]),
                            figures: UnsafeMutableBufferPointer(rebasing: figures[f..<f + refresh.figures]))
                    } catch {
                        ownFailure = error
                        figures[statusStart + rank] = 1
                    }
                    (v, f) = (v + refresh.values, f + refresh.figures)
                }
                telemetry.refreshSeconds += Self.seconds(since: started)
                let sending = ContinuousClock.now
                for root in 0..<size where figureStart[root + 1] > figureStart[root] {
                    try communicator.broadcast(
                        UnsafeMutableBufferPointer(rebasing: values[valueStart[root]..<valueStart[root + 1]]), root: root)
                    try communicator.broadcast(
                        UnsafeMutableBufferPointer(rebasing: figures[figureStart[root]..<figureStart[root + 1]]), root: root)
                    try communicator.broadcast(
                        UnsafeMutableBufferPointer(rebasing: figures[(statusStart + root)..<(statusStart + root + 1)]),
                        root: root)
                    telemetry.collectives += 3
                }
                telemetry.communicationSeconds += Self.seconds(since: sending)
                telemetry.broadcastValues += valueStart[rank + 1] - valueStart[rank]
                guard !(0..<size).contains(where: { figures[statusStart + $0] != 0 }) else { return }
                for root in 0..<size where root != rank {
                    (v, f) = (valueStart[root], figureStart[root])
                    for d in schedule.slots.indices where schedule.owners[d] == root {
                        let refresh = schedule.refreshes[d]
                        try base.adoptSharedRefresh(
                            of: slots[schedule.slots[d]].handle,
                            values: UnsafeBufferPointer(rebasing: values[v..<v + refresh.values]),
                            figures: UnsafeBufferPointer(rebasing: figures[f..<f + refresh.figures]))
                        (v, f) = (v + refresh.values, f + refresh.figures)
                    }
                }
            }
        }
        if let ownFailure { throw ownFailure }
        if (0..<size).contains(where: { figures[statusStart + $0] != 0 }) {
            let failed = (0..<size).filter { figures[statusStart + $0] != 0 }
            throw DistributedError.peerFailed(operation: .dataParallelSynchronize, ranks: failed)
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// `values` times `weight` into the start of `target`: a copy and one SCAL (no per-value
/// generic arithmetic where the caller is not specialized).
func pack<Scalar: BLASScalar>(
    _ values: UnsafeBufferPointer<Scalar>, into target: UnsafeMutableBufferPointer<Scalar>, scaledBy weight: Scalar
) {
    guard !values.isEmpty else { return }
    let region = UnsafeMutableBufferPointer(rebasing: target[0..<values.count])
    _ = region.update(fromContentsOf: values)
    if weight != 1, let base = region.baseAddress { Scalar.scal(n: region.count, alpha: weight, x: base, incx: 1) }
}
