/// The last pass of a first-order step folded into the pass that computes the step:
/// `w′ = keep·w − rate·s` into a new weight buffer, w only read. The rules use it when no
/// update-norm clipping needs the whole step first. The same pass folds in weight decay of
/// either kind — L2, `g ← g + decay·w` before the rule's step, and decoupled, `keep = 1 − lr·wd`
/// — on the weight columns only: a pass over W and the gradient (or the step) fewer, which had
/// been one or two BLAS calls a row where a bias column is exempt.
public struct FusedWeightUpdate<Scalar: BLASScalar> {
    public let weight: UnsafePointer<Scalar>
    public let newWeight: UnsafeMutablePointer<Scalar>
    /// The weight's factor, `1 − lr·wd` under decoupled decay (1: none).
    public let keep: Scalar
    public let rate: Scalar
    /// The L2 weight decay added to the gradient first (0: none).
    public let decay: Scalar
    /// Where `keep` and `decay` apply when not on every value (nil: every value).
    public let decayedColumns: DecayedColumns?

    /// The weight columns of a parameter whose rows end in columns that take no weight decay
    /// (a bias): the first `columns` values of each row of `rowLength`, an update's first value
    /// at `column` of its row. The other values keep w (`keep` 1) and take no L2 decay.
    public struct DecayedColumns: Sendable {
        public let rowLength: Int
        public let columns: Int
        public let column: Int

        @inlinable
        public init(rowLength: Int, columns: Int, column: Int = 0) {
            self.rowLength = rowLength
            self.columns = columns
            self.column = column
        }
    }

    @inlinable
    public init(
        weight: UnsafePointer<Scalar>, newWeight: UnsafeMutablePointer<Scalar>, keep: Scalar, rate: Scalar,
        decay: Scalar = 0, decayedColumns: DecayedColumns? = nil
    ) {
        self.weight = weight
        self.newWeight = newWeight
        self.keep = keep
        self.rate = rate
        self.decay = decay
        self.decayedColumns = decay == 0 && keep == 1 ? nil : decayedColumns
    }

    /// The same update of the weights from `offset` on: for a chunk of a pass split over the
    /// cores.
    @inlinable
    public func advanced(by offset: Int) -> Self {
        Self(
            weight: weight + offset, newWeight: newWeight + offset, keep: keep, rate: rate, decay: decay,
            decayedColumns: decayedColumns.map {
                DecayedColumns(rowLength: $0.rowLength, columns: $0.columns, column: ($0.column + offset) % $0.rowLength)
            })
    }

    /// The update of one row of a sparse step, all of whose values are weights: table row `row`
    /// of `weight` (rows `width` apart) into row `k` of `newWeight`.
    @inlinable
    public func tableRow(_ row: Int, into k: Int, width: Int) -> Self {
        Self(weight: weight + row * width, newWeight: newWeight + k * width, keep: keep, rate: rate, decay: decay)
    }

    /// Calls `body` on consecutive runs of `0..<count` whose values are all weight columns or
    /// all not, with each run's offset, length and update (its `keep` and `decay` on every
    /// value: 1 and 0 off the weight columns); one run when the decay covers every value.
    /// Returns whether every call returned true (a kernel's "all new values finite").
    @inlinable
    public func forEachRun(_ count: Int, _ body: (_ offset: Int, _ count: Int, _ update: Self) -> Bool) -> Bool {
        guard let decayedColumns else { return body(0, count, self) }
        let (rowLength, columns) = (decayedColumns.rowLength, decayedColumns.columns)
        var (offset, column, finite) = (0, decayedColumns.column, true)
        while offset < count {
            let decayed = column < columns
            let length = Swift.min((decayed ? columns : rowLength) - column, count - offset)
            let run = Self(
                weight: weight + offset, newWeight: newWeight + offset, keep: decayed ? keep : 1, rate: rate,
                decay: decayed ? decay : 0)
            finite = body(offset, length, run) && finite
            offset += length
            column = (column + length) % rowLength
        }
        return finite
    }

    /// The gradient lanes at `offset` bytes with the decay added: `g + decay·w`.
    @inlinable
    func decayed(_ gradient: SIMD16<Scalar>, atByteOffset offset: Int) -> SIMD16<Scalar> {
        guard decay != 0 else { return gradient }
        return gradient + SIMD16(repeating: decay)
            * UnsafeRawPointer(weight).loadUnaligned(fromByteOffset: offset, as: SIMD16<Scalar>.self)
    }

    /// The same for one element.
    @inlinable
    func decayed(_ gradient: Scalar, at index: Int) -> Scalar {
        decay == 0 ? gradient : gradient + decay * weight[index]
    }

    /// Writes the sixteen new weights at `offset` bytes from the step lanes; returns their
    /// `w′ − w′` (zero when finite).
    @inlinable
    func apply(_ step: SIMD16<Scalar>, atByteOffset offset: Int) -> SIMD16<Scalar> {
        let old = UnsafeRawPointer(weight).loadUnaligned(fromByteOffset: offset, as: SIMD16<Scalar>.self)
        let next = (keep == 1 ? old : SIMD16(repeating: keep) * old) - SIMD16(repeating: rate) * step
        UnsafeMutableRawPointer(newWeight).storeBytes(of: next, toByteOffset: offset, as: SIMD16<Scalar>.self)
        return next - next
    }

    /// Writes the new weight at element `index`; returns its `w′ − w′`.
    @inlinable
    func apply(_ step: Scalar, at index: Int) -> Scalar {
        let next = (keep == 1 ? weight[index] : keep * weight[index]) - rate * step
        newWeight[index] = next
        return next - next
    }

    /// The end of a kernel's lane: the step applied to the weight by `weightUpdate`, or, with
    /// none, written over the gradient at `offset` bytes. Returns the finiteness lanes to add.
    @inlinable
    static func finish(
        _ step: SIMD16<Scalar>, over gradient: UnsafeMutableRawPointer, atByteOffset offset: Int,
        _ weightUpdate: FusedWeightUpdate?
    ) -> SIMD16<Scalar> {
        if let weightUpdate { return weightUpdate.apply(step, atByteOffset: offset) }
        gradient.storeBytes(of: step, toByteOffset: offset, as: SIMD16<Scalar>.self)
        return SIMD16()
    }

    /// The same for one element.
    @inlinable
    static func finish(
        _ step: Scalar, over gradient: UnsafeMutablePointer<Scalar>, at index: Int, _ weightUpdate: FusedWeightUpdate?
    ) -> Scalar {
        if let weightUpdate { return weightUpdate.apply(step, at: index) }
        gradient[index] = step
        return 0
    }

    /// `decayed` when there is a weight update, the gradient itself otherwise.
    @inlinable
    static func decayed(_ gradient: SIMD16<Scalar>, atByteOffset offset: Int, _ weightUpdate: Self?) -> SIMD16<Scalar> {
        weightUpdate?.decayed(gradient, atByteOffset: offset) ?? gradient
    }

    /// The same for one element.
    @inlinable
    static func decayed(_ gradient: Scalar, at index: Int, _ weightUpdate: Self?) -> Scalar {
        weightUpdate?.decayed(gradient, at: index) ?? gradient
    }
}
