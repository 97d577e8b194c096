/// How a damping value λ becomes the diagonal shift `s` of `F̂ = F + s·I`.
///
/// The two rules of the reference code (docs/ALGORITHM.md §3) are kept verbatim, next to the
/// textbook one and one relative to the curvature's scale. The shift is computed in Double from
/// λ and, for `clampedSquareRoot`, from the largest absolute entry of the matrix being damped,
/// for `relative` from its mean diagonal entry (per block for a block-diagonal GFIM).
public enum DampingRule: Sendable, Equatable, Codable {
    /// `s = λ`.
    case plain(Double)
    /// `s = √λ`: the reference preconditioner form.
    case squareRoot(Double)
    /// `s = √(min(λ, max(max|F|, 1e-3)))`: the reference optimizer (mini-batch) form.
    case clampedSquareRoot(Double)
    /// `s = λ·tr(F)/n`: λ times the mean eigenvalue of F (its trace over its order), so that
    /// one λ means the same for layers and models whose curvature differs in scale by orders
    /// of magnitude; `s = λ` when `tr(F) = 0` (no statistics: no scale to be relative to).
    case relative(Double)

    /// The damping value λ.
    @inlinable public var lambda: Double {
        switch self {
        case let .plain(value), let .squareRoot(value), let .clampedSquareRoot(value), let .relative(value): value
        }
    }

    /// Throws `nonPositiveDamping` unless λ is positive and finite.
    @inlinable public func validate(_ operation: NGError.Operation) throws(NGError) {
        guard lambda > 0, lambda.isFinite else {
            throw .nonPositiveDamping(operation: operation, value: lambda)
        }
    }

    /// True when the shift depends on `max|F|` (so the caller must compute it).
    @inlinable public var needsMaxAbsolute: Bool {
        if case .clampedSquareRoot = self { return true }
        return false
    }

    /// True when the shift depends on `tr(F)/n` (so the caller must compute it).
    @inlinable public var needsMeanDiagonal: Bool {
        if case .relative = self { return true }
        return false
    }

    /// The shift `s` for a matrix whose largest absolute entry is `maxAbsolute` and whose mean
    /// diagonal entry is `meanDiagonal` (each needed only by its rule).
    @inlinable public func shift(maxAbsolute: Double = 0, meanDiagonal: Double = 0) -> Double {
        switch self {
        case let .plain(value): value
        case let .squareRoot(value): value.squareRoot()
        case let .clampedSquareRoot(value): Swift.min(value, Swift.max(maxAbsolute, 1e-3)).squareRoot()
        case let .relative(value): meanDiagonal > 0 ? value * meanDiagonal : value
        }
    }
}

/// What a damped factorization actually used: per block, the shift it was factored with, how
/// many retries of the `ShiftLadder` that took, whether it took the Double rung, and an
/// estimate of the condition number of the damped block.
///
/// The shifts and retries are part of the saved state; the precision and the condition
/// estimate are telemetry and are not (after a restore: false and nil until the next refresh).
public struct DampingReport: Sendable, Equatable {
    /// A report of the given per-block figures (empty by default, filled block by block).
    @inlinable
    public init(
        requestedShifts: [Double] = [], usedShifts: [Double] = [], retries: [Int] = [],
        inDouble: [Bool] = [], conditionEstimates: [Double?] = []
    ) {
        self.requestedShifts = requestedShifts
        self.usedShifts = usedShifts
        self.retries = retries
        self.inDouble = inDouble
        self.conditionEstimates = conditionEstimates
    }

    /// The shift the rule asked for, per block.
    public var requestedShifts: [Double]
    /// The shift that succeeded, per block (equal to the requested one unless retried).
    public var usedShifts: [Double]
    /// Retries, per block (0 when the first attempt factored).
    public var retries: [Int]
    /// Per block: true when it factored only in Double (a Float inverse's Double rung).
    public var inDouble: [Bool]
    /// Per block: `(max Lᵢᵢ / min Lᵢᵢ)²` of its Cholesky factor, a lower bound on the condition
    /// number of the damped block; nil when not known (a state restored from a file).
    public var conditionEstimates: [Double?]

    /// Empties the report, keeping its storage for reuse.
    @inlinable
    public mutating func removeAll() {
        requestedShifts.removeAll(keepingCapacity: true)
        usedShifts.removeAll(keepingCapacity: true)
        retries.removeAll(keepingCapacity: true)
        inDouble.removeAll(keepingCapacity: true)
        conditionEstimates.removeAll(keepingCapacity: true)
    }

    /// Adds one block's figures.
    @inlinable
    public mutating func append(
        requestedShift: Double, usedShift: Double, retries count: Int, inDouble double: Bool = false,
        conditionEstimate: Double? = nil
    ) {
        requestedShifts.append(requestedShift)
        usedShifts.append(usedShift)
        retries.append(count)
        inDouble.append(double)
        conditionEstimates.append(conditionEstimate)
    }

    /// True when any block needed a larger shift than requested.
    @inlinable public var escalated: Bool { retries.contains { $0 > 0 } }

    /// The lowest rung any block reached (as `RefreshSummary` ranks them).
    @inlinable public var rung: RefreshRung {
        var summary = RefreshSummary()
        for (retried, double) in zip(retries, inDouble) {
            summary.include(shift: 0, retries: retried, inDouble: double, conditionEstimate: nil)
        }
        return summary.rung
    }
}
