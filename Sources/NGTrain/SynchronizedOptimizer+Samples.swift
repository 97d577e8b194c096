import NGPlus

extension SynchronizedOptimizer {
    /// The samples this process trains on — its `localRows` as samples of `rowsPerSample` rows
    /// (a window's tokens, a molecule's atoms) — of a batch of `samples` samples.
    /// - Throws: `invalidArgument` (argument `optimizer`) when the rows are not whole samples of
    ///   such a batch; `what` names the samples in the message.
    func localSamples(
        rowsPerSample: Int, batch samples: Int, what: String, _ operation: NGError.Operation
    ) throws(NGError) -> Range<Int> {
        let rows = localRows
        try operation.require(
            rows.lowerBound % rowsPerSample == 0 && rows.count % rowsPerSample == 0
                && rows.upperBound <= samples * rowsPerSample, "optimizer",
            "its rows \(rows) are not whole \(what) of a batch of \(samples)")
        return (rows.lowerBound / rowsPerSample)..<(rows.upperBound / rowsPerSample)
    }
}
