import NGPlus

/// The checks of `synchronize` (failures recorded, the layout checked once, every layer's
/// gradient and statistics present); its collectives are `StepExchange`'s.
extension DataParallel {
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

    /// `inputs` of layer `i` has this process's rows of the batch, or the same whole multiple of
    /// them as at its first step (a layer on pairs); exactly them when the layer's statistics
    /// gather rows across processes. Returns the multiple, for the caller to keep once its call
    /// succeeded.
    func requireLocalRows(
        _ inputs: Matrix<Scalar>, slot i: Int, _ operation: NGError.Operation, _ argument: String
    ) throws(NGError) -> Int {
        let (local, known) = (localRows.count, slots[i].rowsPerBatchRow)
        let (multiple, remainder) = inputs.rows.quotientAndRemainder(dividingBy: local)
        let gathers = base.sharedStatistics(of: slots[i].handle).gathers
        guard remainder == 0, multiple >= 1, known == 0 || multiple == known, !gathers || multiple == 1 else {
            throw .shapeMismatch(
                operation: operation, argument: "\(argument) (this process's rows of the batch)",
                expected: Shape(local * max(known, 1), inputs.columns), actual: inputs.shape)
        }
        return multiple
    }

    /// Once after registration (at the first step no process failed): every process has the
    /// same layers and batch, so that every collective has the same layout everywhere. A
    /// process whose step failed before (its tables' lookups then unknown) says so in the same
    /// collective: it throws its error, the others `peerFailed`, not a mismatch.
    mutating func checkLayout() throws {
        let parameters = slots.reduce(0) { $0 + $1.spec.parameterShape.rows * $1.spec.parameterShape.columns }
        // The tables' lookups a row, weighted by position: a checksum of the gathers' layout.
        let lookups = slots.indices.reduce(0) { $0 + ($1 + 1) * (slots[$1].embedding?.perRow ?? 0) }
        // The rows each layer's inputs have for a row of the batch, likewise.
        let multiples = slots.indices.reduce(0) { $0 + ($1 + 1) * slots[$1].rowsPerBatchRow }
        let local: [Int64] = [Int64(slots.count), Int64(parameters), Int64(globalBatch), Int64(lookups), Int64(multiples)]
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
        if differs(4) {
            throw DistributedError.mismatch(
                operation: .dataParallelSynchronize, what: "the rows a layer's inputs have for each row of the batch")
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
                failure = OptimizerError.missingStatistics(operation: operation, layer: i, step: exchange.telemetry.steps)
                return
            }
        }
    }
}
