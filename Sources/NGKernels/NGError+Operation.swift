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
    package func require(_ holds: Bool, _ argument: String, _ reason: @autoclosure () -> String) throws(NGError) {
        if !holds { throw .invalidArgument(operation: self, argument: argument, reason: reason()) }
    }
}
