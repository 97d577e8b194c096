/// A layer's refresh made before its step — by this process, or adopted from the process that
/// owns the layer's refreshes in a data-parallel run — which the step is handed and uses instead
/// of staging its own: the slot the step applies and what it counts into `RefreshHealth`. The
/// staged inverse it names stays in the layer's curvature block.
public struct RefreshAhead: Sendable {
    let slot: InverseSlot
    let outcome: RefreshOutcome

    /// No refresh: the inverse in use applies (what a layer without curvature hands back).
    static let inUse = RefreshAhead(slot: .current, outcome: RefreshOutcome())
}

/// The record of a refresh as one process sends it: five figures about the outcome — 0 when a
/// refresh was staged, or 1 and the `notPositiveDefinite` failure's block, order, last shift and
/// attempts when the inverse in use was kept — then the inverses' own records
/// (`DampedInverse.writeStagedRecord`).
enum RefreshRecord {
    static let outcomeFigures = 5

    /// Writes the outcome's figures.
    static func write(_ ahead: RefreshAhead, into figures: UnsafeMutableBufferPointer<Double>) {
        figures[0..<outcomeFigures].update(repeating: 0)
        if case let .notPositiveDefinite(_, block, order, shift, attempts)? = ahead.outcome.failure {
            (figures[0], figures[1], figures[2], figures[3], figures[4]) = (1, Double(block), Double(order), shift, Double(attempts))
        }
    }

    /// The kept-inverse outcome a record describes, or nil when it holds a staged refresh.
    static func keptInverse(_ figures: UnsafeBufferPointer<Double>) -> RefreshAhead? {
        guard figures[0] == 1 else { return nil }
        let failure = NGError.notPositiveDefinite(
            operation: .dampedInverseRefresh, block: Int(figures[1]), order: Int(figures[2]), lastShift: figures[3],
            attempts: Int(figures[4]))
        return RefreshAhead(slot: .current, outcome: RefreshOutcome(failure: failure))
    }
}

extension SharedRefreshBlock {
    /// Stages the coming step's refresh now, as the step would (a failure survived when an
    /// inverse is in use), and writes its record. Sizes: `refreshRecordSize` plus the outcome's
    /// five figures.
    mutating func makeRefreshRecord(
        damping: DampingRule, values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>
    ) throws(NGError) -> RefreshAhead {
        var outcome: RefreshOutcome?
        let slot = try stageRefresh(due: true, damping: damping, outcome: &outcome)
        let ahead = RefreshAhead(slot: slot, outcome: outcome ?? RefreshOutcome())
        values.withUnsafeMutableBufferPointer { values in
            figures.withUnsafeMutableBufferPointer { figures in
                RefreshRecord.write(ahead, into: figures)
                if slot == .staged {
                    writeStagedRefresh(
                        values: values,
                        figures: UnsafeMutableBufferPointer(rebasing: figures[RefreshRecord.outcomeFigures...]))
                }
            }
        }
        return ahead
    }

    /// Adopts a record made by `makeRefreshRecord` on another process.
    mutating func adoptRefreshRecord(values: Span<Scalar>, figures: Span<Double>) -> RefreshAhead {
        values.withUnsafeBufferPointer { values in
            figures.withUnsafeBufferPointer { figures in
                if let kept = RefreshRecord.keptInverse(figures) { return kept }
                var outcome = RefreshOutcome()
                outcome.summary = adoptStagedRefresh(
                    values: values, figures: UnsafeBufferPointer(rebasing: figures[RefreshRecord.outcomeFigures...]))
                return RefreshAhead(slot: .staged, outcome: outcome)
            }
        }
    }
}

extension UnsafeMutableBufferPointer {
    /// Calls `body` with this buffer as a span: what a sharing hook hands its caller.
    package func withMutableSpan(_ body: (inout MutableSpan<Element>) -> Void) {
        var span = mutableSpan
        body(&span)
    }
}

extension RefreshAhead? {
    /// The slot a step applies: this refresh made ahead when there is one, else the block's own
    /// `stageRefresh(due:damping:outcome:)`.
    func stagedRefresh<Block: CurvatureBlock>(
        of block: inout Block, due: Bool, damping: DampingRule, outcome: inout RefreshOutcome?
    ) throws(NGError) -> InverseSlot {
        guard let ahead = self else { return try block.stageRefresh(due: due, damping: damping, outcome: &outcome) }
        outcome = ahead.outcome
        return ahead.slot
    }
}
