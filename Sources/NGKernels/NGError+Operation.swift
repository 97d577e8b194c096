extension NGError {
    /// The operation an error names: one of the package's named operations, never free text.
    /// An extensible enumeration — each module declares its own as static members
    /// (`KernelOperations.swift`, `OptimizerOperations.swift`, `TrainingOperations.swift`), so
    /// that an operation of NGPlus can name a kernel check it called — made once, so naming an
    /// operation costs nothing on a hot path. Only the package makes new ones.
    public struct Operation: Hashable, Sendable, CustomStringConvertible {
        /// `Type.method`, as the error's description shows it.
        public let name: String

        package init(_ name: String) { self.name = name }

        public var description: String { name }
    }
}

extension NGError.Operation {
    /// Throws `invalidArgument` naming `argument`, with `reason`, unless `holds`: a setting's
    /// range check in one line.
    @inlinable
    package func require(_ holds: Bool, _ argument: String, _ reason: @autoclosure () -> String) throws(NGError) {
        if !holds { throw .invalidArgument(operation: self, argument: argument, reason: reason()) }
    }
}

extension NGError.Operation {
    /// A decay or momentum: `value` in [0, 1).
    package func requireFraction(_ value: Double, _ argument: String) throws(NGError) {
        try require(value >= 0 && value < 1, argument, "must be in [0, 1), got \(value)")
    }

    /// `value` finite and > 0.
    package func requirePositive(_ value: Double, _ argument: String) throws(NGError) {
        try require(value > 0 && value.isFinite, argument, "must be positive and finite, got \(value)")
    }

    /// `value` finite and ≥ 0.
    package func requireNonNegative(_ value: Double, _ argument: String) throws(NGError) {
        try require(value >= 0 && value.isFinite, argument, "must be finite and ≥ 0, got \(value)")
    }

    /// A bound that is off when nil: finite and > 0 when set.
    package func requirePositive(_ value: Double?, _ argument: String) throws(NGError) {
        if let value { try requirePositive(value, argument) }
    }

    /// `value` in `range`.
    package func require(_ value: Int, in range: ClosedRange<Int>, _ argument: String) throws(NGError) {
        try require(range.contains(value), argument, "must be in \(range), got \(value)")
    }
}
