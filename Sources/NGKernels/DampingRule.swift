/// How a damping value λ becomes the diagonal shift `s` of `F̂ = F + s·I`.
///
/// The two rules of the reference code (ALGORITHM.md §3) are kept verbatim, next to the
/// textbook one. The shift is computed in Double from λ and, for `clampedSquareRoot`, from the
/// largest absolute entry of the matrix being damped (per block for a block-diagonal GFIM).
public enum DampingRule: Sendable, Equatable, Codable {
    /// `s = λ`.
    case plain(Double)
    /// `s = √λ`: the reference preconditioner form.
    case squareRoot(Double)
    /// `s = √(min(λ, max(max|F|, 1e-3)))`: the reference optimizer (mini-batch) form.
    case clampedSquareRoot(Double)

    /// The damping value λ.
    @inlinable public var lambda: Double {
        switch self {
        case let .plain(value), let .squareRoot(value), let .clampedSquareRoot(value): value
        }
    }

    /// Throws `nonPositiveDamping` unless λ is positive and finite.
    @inlinable public func validate(_ operation: String) throws(NGError) {
        guard lambda > 0, lambda.isFinite else {
            throw .nonPositiveDamping(operation: operation, value: lambda)
        }
    }

    /// True when the shift depends on `max|F|` (so the caller must compute it).
    @inlinable public var needsMaxAbsolute: Bool {
        if case .clampedSquareRoot = self { return true }
        return false
    }

    /// The shift `s` for a matrix whose largest absolute entry is `maxAbsolute`.
    @inlinable public func shift(maxAbsolute: Double) -> Double {
        switch self {
        case let .plain(value): value
        case let .squareRoot(value): value.squareRoot()
        case let .clampedSquareRoot(value): Swift.min(value, Swift.max(maxAbsolute, 1e-3)).squareRoot()
        }
    }
}

/// What a damped factorization actually used: the shift each block was factored with, and how
/// many times the shift had to be multiplied by the retry growth factor to succeed.
public struct DampingReport: Sendable, Equatable {
    /// A report of the given per-block figures (empty by default, filled block by block).
    @inlinable
    public init(requestedShifts: [Double] = [], usedShifts: [Double] = [], retries: [Int] = []) {
        self.requestedShifts = requestedShifts
        self.usedShifts = usedShifts
        self.retries = retries
    }

    /// The shift the rule asked for, per block.
    public var requestedShifts: [Double]
    /// The shift that succeeded, per block (equal to the requested one unless retried).
    public var usedShifts: [Double]
    /// Retries, per block (0 when the first attempt factored).
    public var retries: [Int]

    /// Empties the report, keeping its storage for reuse.
    @inlinable
    public mutating func removeAll() {
        requestedShifts.removeAll(keepingCapacity: true)
        usedShifts.removeAll(keepingCapacity: true)
        retries.removeAll(keepingCapacity: true)
    }

    /// Adds one block's figures.
    @inlinable
    public mutating func append(requestedShift: Double, usedShift: Double, retries count: Int) {
        requestedShifts.append(requestedShift)
        usedShifts.append(usedShift)
        retries.append(count)
    }

    /// True when any block needed a larger shift than requested.
    @inlinable public var escalated: Bool { retries.contains { $0 > 0 } }
}
