/// A record whose layer refreshes an inverse (NG+, K-FAC): what its refreshes went through.
public protocol RefreshingRecord: LayerRecord {
    /// The refreshes of the layer, rung by rung of the failure ladder (telemetry, not saved).
    var refreshHealth: RefreshHealth { get }
}

extension LayerwiseOptimizer where Record: RefreshingRecord {
    /// What a layer's refreshes went through, rung by rung of the failure ladder.
    public func refreshHealth(of layer: LayerHandle) throws(OptimizerError) -> RefreshHealth {
        try record(layer, NGError.Operation("\(Record.stateKind).refreshHealth")).refreshHealth
    }
}
