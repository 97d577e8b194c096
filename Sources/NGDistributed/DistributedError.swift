import NGPlus

/// What data-parallel training throws of its own. Every process of a run throws together:
/// a failure on one process travels with the step's all-reduce, so no process is left waiting
/// in a collective for one that gave up.
public enum DistributedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An MPI call returned an error code.
    case mpiFailure(operation: NGError.Operation, call: String, code: Int32, message: String)
    /// The processes disagree on something that must be the same on all of them (the layers
    /// registered, the batch).
    case mismatch(operation: NGError.Operation, what: String)
    /// Other processes failed in this step (they threw the error themselves); this one's state
    /// is as it was before the step's `synchronize`.
    case peerFailed(operation: NGError.Operation, ranks: [Int])

    public var description: String {
        switch self {
        case let .mpiFailure(operation, call, code, message):
            return "\(operation): \(call) failed with MPI error \(code): \(message)"
        case let .mismatch(operation, what):
            return "\(operation): the processes disagree on \(what)"
        case let .peerFailed(operation, ranks):
            let list = ranks.map(String.init).joined(separator: ", ")
            return "\(operation): rank\(ranks.count == 1 ? "" : "s") \(list) failed in this step; see that rank's error"
        }
    }
}
