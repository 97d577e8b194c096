import NGKernels

/// What the optimizers throw of their own. A bad argument, setting or numerical failure is an
/// `NGError`, named as the kernels' checks name it (the optimizers validate with them); what
/// only an optimizer can know is an `OptimizerError`. Either way a call that throws has
/// changed nothing.
public enum OptimizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A layer handle that this optimizer did not hand out.
    case unknownLayer(operation: NGError.Operation, layer: Int)
    /// A step that needs the layer's statistics for this step (`observe`) came without them.
    case missingStatistics(operation: NGError.Operation, layer: Int, step: Int)
    /// A checkpoint file could not be read or written.
    case fileError(operation: NGError.Operation, path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownLayer(operation, layer):
            return "\(operation): layer \(layer) is not registered with this optimizer"
        case let .missingStatistics(operation, layer, step):
            return "\(operation): layer \(layer) needs observe(...) before its step \(step) (a statistics step)"
        case let .fileError(operation, path, reason):
            return "\(operation): \(path): \(reason)"
        }
    }
}
