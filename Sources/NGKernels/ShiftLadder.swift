/// The diagonal shifts a damped factorization tries, rung by rung: the shift the damping rule
/// asked for, then retries that grow it by `growth` each and never stay below the matrix's
/// own rounding level — `scale·order·u` for the largest diagonal entry `scale` of F (which for
/// a positive semi-definite F is `max|F|`) and the unit roundoff `u` of the precision that
/// factors. A shift below that level cannot make a rounded F positive definite, so a retry
/// jumps to it at once instead of climbing by ×10 from a shift that was never in scale
/// (a diverging run with `max|F|` near 10¹² used to spend every retry below it).
@usableFromInline
struct ShiftLadder: Sendable {
    /// The shift of the first attempt.
    @usableFromInline let requested: Double
    @usableFromInline let growth: Double
    /// `scale·order·u`: the smallest shift a retry uses.
    @usableFromInline let floor: Double

    @inlinable
    init(requested: Double, growth: Double, scale: Double, order: Int, unitRoundoff: Double) {
        self.requested = requested
        self.growth = growth
        self.floor = scale * Double(order) * unitRoundoff
    }

    /// The shift of attempt `retry` (0: the requested one):
    /// `max(requested·growthᵏ, floor·growthᵏ⁻¹)` for k ≥ 1.
    @inlinable
    func shift(retry: Int) -> Double {
        guard retry > 0 else { return requested }
        var grown = requested
        var floored = floor
        for _ in 0..<retry { grown *= growth }
        for _ in 1..<retry { floored *= growth }
        return Swift.max(grown, floored)
    }
}
