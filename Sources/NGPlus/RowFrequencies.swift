import Foundation

/// K-FAC's input factor of an embedding table: for one-hot lookups `E[x·xᵀ]` is the diagonal of
/// row frequencies (the lookups of row i over all L lookups), averaged as
/// `a ← (1−α)·a + α·a_new` at each statistics update. Kept lazily, so that an update costs in
/// proportion to the rows looked up: a row's value is stored as of the update that last touched
/// it and decayed by `(1−α)` per later update when it is read.
struct RowFrequencies<Scalar: BLASScalar>: Sendable {
    /// α of the running average.
    let runningAverage: Double
    /// Per row: its frequency as of statistics update `stamps[row]` (one row of values).
    var values: Matrix<Scalar>
    /// Per row: the update count when its value was stored.
    var stamps: [Int]
    /// The statistics updates committed.
    var updates = 0
    /// The staged values of the touched rows, in touched order.
    var staged: [Scalar] = []

    init(vocabulary: Int, runningAverage: Double) {
        self.runningAverage = runningAverage
        values = Matrix(rows: 1, columns: vocabulary)
        stamps = Array(repeating: 0, count: vocabulary)
    }

    /// Row `row`'s frequency now.
    func current(_ row: Int) -> Scalar {
        let decay = pow(1 - runningAverage, Double(updates - stamps[row]))
        return values.withUnsafeBufferPointer { $0[row] } * Scalar(decay)
    }

    /// The value the step applies to touched row k (table row `row`): the staged one on a
    /// statistics step.
    func value(ofTouched k: Int, row: Int, staged isStaged: Bool) -> Scalar {
        isStaged ? staged[k] : current(row)
    }

    /// Stages the update from one step's touched rows and their lookup counts (α = 1 the
    /// first time, when every value is still zero).
    mutating func stage(_ touched: TouchedRows, lookups: Int, first: Bool) {
        let alpha = first ? 1 : Scalar(runningAverage)
        staged.removeAll(keepingCapacity: true)
        for k in 0..<touched.count {
            let old = first ? 0 : current(touched.rows[k])
            staged.append((1 - alpha) * old + alpha * Scalar(touched.lookupCounts[k]) / Scalar(lookups))
        }
    }

    /// Puts the staged values of `touched`'s rows in use.
    mutating func commit(_ touched: TouchedRows) {
        updates += 1
        values.withUnsafeMutableBufferPointer { v in
            for k in 0..<touched.count { v[touched.rows[k]] = staged[k] }
        }
        for k in 0..<touched.count { stamps[touched.rows[k]] = updates }
    }
}

extension RowFrequencies: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(updates)
        writer.write(values)
        for stamp in stamps { writer.write(stamp) }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let savedUpdates = try reader.readStepCount()
        try reader.read(into: &values, what: "row frequencies")
        for row in stamps.indices {
            let stamp = try reader.readInt()
            guard stamp >= 0, stamp <= savedUpdates else { throw reader.fail("a row frequency stamped \(stamp) of \(savedUpdates) updates") }
            stamps[row] = stamp
        }
        updates = savedUpdates
    }
}
