/// The last pass of a first-order step folded into the pass that computes the step:
/// `w′ = keep·w − rate·s` into a new weight buffer, w only read. The rules use it when no
/// update-norm clipping needs the whole step first.
public struct FusedWeightUpdate<Scalar: BLASScalar> {
    public let weight: UnsafePointer<Scalar>
    public let newWeight: UnsafeMutablePointer<Scalar>
    public let keep: Scalar
    public let rate: Scalar

    @inlinable
    public init(weight: UnsafePointer<Scalar>, newWeight: UnsafeMutablePointer<Scalar>, keep: Scalar, rate: Scalar) {
        self.weight = weight
        self.newWeight = newWeight
        self.keep = keep
        self.rate = rate
    }

    /// The same update of the weights from `offset` on: for a chunk of a pass split over the
    /// cores.
    @inlinable
    public func advanced(by offset: Int) -> Self {
        Self(weight: weight + offset, newWeight: newWeight + offset, keep: keep, rate: rate)
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
}
