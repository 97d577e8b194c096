/// The settings of an optimizer that has a default for every one of them, spelled
/// `configuration` (NG+'s and K-FAC's).
public protocol OptimizerConfiguration: Sendable, Codable {
    /// Every setting at its default.
    static var defaults: Self { get }
}

extension LayerwiseOptimizer where Record.Settings: OptimizerConfiguration {
    /// - Throws: `invalidArgument` or `nonPositiveDamping` for a setting out of range.
    public init(configuration: Record.Settings = .defaults) throws(NGError) {
        try self.init(settings: configuration)
    }

    /// The settings, fixed at creation.
    public var configuration: Record.Settings { settings }
}
