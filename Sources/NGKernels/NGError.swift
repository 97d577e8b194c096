/// The kernels' errors: a bad argument, setting or numerical failure. The optimizers (NGPlus)
/// and the training stack (NGTrain) validate with the same checks and throw these as they are;
/// what only they can know has a type of their own (`OptimizerError`, `DataError`). Each case
/// names the operation and the argument at fault and carries the offending sizes or values;
/// `description` is a sentence a user can act on. An operation that throws has changed none of
/// its outputs and none of its owner's state.
public enum NGError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An argument does not have the shape the operation needs.
    case shapeMismatch(operation: Operation, argument: String, expected: Shape, actual: Shape)
    /// An argument has no elements.
    case emptyMatrix(operation: Operation, argument: String, shape: Shape)
    /// An argument holds a NaN or an infinity; `row`/`column` locate the first one.
    case nonFinite(operation: Operation, argument: String, row: Int, column: Int)
    /// A damping value is zero, negative, NaN or infinite.
    case nonPositiveDamping(operation: Operation, value: Double)
    /// A damped matrix would not factor even after every retry with a larger damping.
    /// `block` is the diagonal block, `order` the leading minor that failed on the last try,
    /// `lastShift` the diagonal shift of that try.
    case notPositiveDefinite(operation: Operation, block: Int, order: Int, lastShift: Double, attempts: Int)
    /// An argument is outside its documented range.
    case invalidArgument(operation: Operation, argument: String, reason: String)
    /// An operation needs a factorization or inverse that has not been computed yet.
    case notRefreshed(operation: Operation)
    /// A saved state that cannot be loaded: bad magic, version, checksum, truncation, or a
    /// mismatch with the registered layers. `reason` says which.
    case corruptState(operation: Operation, reason: String)
    /// LAPACK rejected an argument. Validation should make this unreachable; it is reported,
    /// never ignored.
    case lapackFailure(operation: Operation, routine: String, info: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(operation, argument, expected, actual):
            return "\(operation): \(argument) has shape \(actual), expected \(expected)"
        case let .emptyMatrix(operation, argument, shape):
            return "\(operation): \(argument) is empty (\(shape))"
        case let .nonFinite(operation, argument, row, column):
            return "\(operation): \(argument) has a non-finite value at row \(row), column \(column)"
        case let .nonPositiveDamping(operation, value):
            return "\(operation): damping must be positive and finite, got \(value)"
        case let .notPositiveDefinite(operation, block, order, lastShift, attempts):
            return "\(operation): block \(block) is not positive definite (leading minor of order "
                + "\(order) failed) after \(attempts) attempts, the last with diagonal shift \(lastShift)"
        case let .invalidArgument(operation, argument, reason):
            return "\(operation): \(argument) \(reason)"
        case let .notRefreshed(operation):
            return "\(operation): no inverse has been computed yet; call refresh first"
        case let .corruptState(operation, reason):
            return "\(operation): the saved state cannot be loaded: \(reason)"
        case let .lapackFailure(operation, routine, info):
            return "\(operation): \(routine) rejected argument \(-info) (info \(info))"
        }
    }
}
