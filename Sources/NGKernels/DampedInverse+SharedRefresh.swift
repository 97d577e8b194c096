/// A staged refresh as one process makes it and the others adopt it (data-parallel training's
/// refreshes by owner): the staged blocks' values, and per block five figures — the requested
/// shift, the shift used, the retries, 1 when it factored in Double, the condition estimate
/// (NaN when unknown). Adopting a record leaves the inverse exactly as staging it would have.
extension DampedInverse {
    /// The values and figures of a record.
    package var stagedRecordSize: (values: Int, figures: Int) {
        (scratch.blockStorageCount, 5 * scratch.blockCount)
    }

    /// Writes the staged refresh.
    /// - Precondition: a refresh is staged.
    package mutating func writeStagedRecord(values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>) {
        guard let report = reports.staged else { preconditionFailure("no staged refresh to write") }
        var offset = 0
        scratch.forEachBlockStorage { block in
            _ = UnsafeMutableBufferPointer(rebasing: values[offset..<offset + block.count]).update(fromContentsOf: block)
            offset += block.count
        }
        for b in report.requestedShifts.indices {
            figures[5 * b] = report.requestedShifts[b]
            figures[5 * b + 1] = report.usedShifts[b]
            figures[5 * b + 2] = Double(report.retries[b])
            figures[5 * b + 3] = report.inDouble[b] ? 1 : 0
            figures[5 * b + 4] = report.conditionEstimates[b] ?? .nan
        }
    }

    /// Makes a record written by `writeStagedRecord` (of an inverse of the same order and
    /// blocks) this inverse's staged refresh. Returns its summary.
    package mutating func adoptStagedRecord(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) -> RefreshSummary {
        var offset = 0
        scratch.forEachBlockStorage { block in
            _ = block.update(fromContentsOf: values[offset..<offset + block.count])
            offset += block.count
        }
        var report = reports.startStaging()
        var summary = RefreshSummary()
        for b in 0..<scratch.blockCount {
            let (retries, inDouble) = (Int(figures[5 * b + 2]), figures[5 * b + 3] != 0)
            let condition: Double? = figures[5 * b + 4].isNaN ? nil : figures[5 * b + 4]
            report.append(
                requestedShift: figures[5 * b], usedShift: figures[5 * b + 1], retries: retries, inDouble: inDouble,
                conditionEstimate: condition)
            summary.include(shift: figures[5 * b + 1], retries: retries, inDouble: inDouble, conditionEstimate: condition)
        }
        reports.staged = report
        return summary
    }
}
