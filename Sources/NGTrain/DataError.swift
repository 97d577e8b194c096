import NGKernels

/// What the data loader throws: a file that cannot be read, or that is not what it claims.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A data file is not what it claims: wrong magic number, dimensions or length, a damaged
    /// gzip stream, or images and labels that disagree. `reason` says which.
    case corruptData(operation: NGError.Operation, path: String, reason: String)
    /// A data file could not be read.
    case fileError(operation: NGError.Operation, path: String, reason: String)

    public var description: String {
        switch self {
        case let .corruptData(operation, path, reason):
            return "\(operation): \(path) is not valid: \(reason)"
        case let .fileError(operation, path, reason):
            return "\(operation): \(path): \(reason)"
        }
    }
}
