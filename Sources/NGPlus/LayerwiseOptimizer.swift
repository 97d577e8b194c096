import Foundation

/// An optimizer that keeps one `LayerRecord` per registered layer: NG+, K-FAC, SGD, Adam, Muon
/// and Shampoo are this type with their own record (`NGPlusOptimizer`, `KFACOptimizer`,
/// `SGDOptimizer`, `AdamOptimizer`, `MuonOptimizer`, `ShampooOptimizer`).
///
/// Every public entry point validates everything first: a call that throws has changed
/// nothing, byte for byte (`stateBytes()` shows it). Steady-state steps allocate nothing on
/// the Swift side.
public struct LayerwiseOptimizer<Record: LayerRecord>: LayerOptimizer, Sendable {
    public typealias Scalar = Record.Scalar
    /// The settings, fixed at creation.
    public let settings: Record.Settings
    var table = LayerTable<Record>(stateKind: Record.stateKind)

    /// - Throws: `invalidArgument` or `nonPositiveDamping` for a setting out of range.
    public init(settings: Record.Settings) throws(NGError) {
        try Record.validate(settings, NGError.Operation("\(Record.stateKind).init"))
        self.settings = settings
    }

    public mutating func register(_ spec: LayerSpec) throws(NGError) -> LayerHandle {
        let operation = NGError.Operation("\(Record.stateKind).register")
        try spec.validate(operation)
        return table.append(try Record(spec: spec, index: table.layers.count, settings: settings, operation))
    }

    /// The record of `layer`, for the optimizers' own queries.
    func record(_ layer: LayerHandle, _ operation: NGError.Operation) throws(OptimizerError) -> Record {
        try table.layer(layer, operation)
    }

    public mutating func observe(
        _ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>
    ) throws {
        try table.observe(layer, inputs: inputs, outputGradients: outputGradients, settings)
    }

    public func usesObservation(_ layer: LayerHandle) -> Bool {
        table.usesObservation(layer, settings)
    }

    public func takesSampleGradients(_ layer: LayerHandle) -> Bool {
        table.takesSampleGradients(layer, settings)
    }

    public mutating func observe(_ layer: LayerHandle, sampleGradients: Matrix<Scalar>) throws {
        try table.observe(layer, sampleGradients: sampleGradients, settings)
    }

    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>
    ) throws {
        try table.step(layer, weight: &weight, gradient: gradient, settings)
    }

    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>,
        outputGradients: Matrix<Scalar>
    ) throws {
        try table.step(layer, weight: &weight, inputs: inputs, outputGradients: outputGradients, settings)
    }

    public mutating func step(
        _ layer: LayerHandle, table: inout Matrix<Scalar>, lookups: [Int], outputGradients: Matrix<Scalar>
    ) throws {
        try self.table.step(layer, table: &table, lookups: lookups, outputGradients: outputGradients, settings)
    }

    public var nonFinitePolicy: NonFiniteStepPolicy {
        get { table.nonFinitePolicy }
        set { table.nonFinitePolicy = newValue }
    }

    public func skippedSteps(of layer: LayerHandle) throws(OptimizerError) -> Int {
        try table.skippedSteps(of: layer, NGError.Operation("\(Record.stateKind).skippedSteps"))
    }

    public func extraFlopsPerStep(of layer: LayerHandle) throws(OptimizerError) -> Double {
        try table.layer(layer, NGError.Operation("\(Record.stateKind).extraFlopsPerStep")).extraFlopsPerStep(settings)
    }

    public func sampleGradientFlopsPerStep(of layer: LayerHandle) throws(OptimizerError) -> Double {
        try table.layer(layer, NGError.Operation("\(Record.stateKind).sampleGradientFlopsPerStep"))
            .sampleGradientFlopsPerStep(settings)
    }

    /// The steps a layer has taken.
    public func stepCount(of layer: LayerHandle) throws(OptimizerError) -> Int {
        try table.layer(layer, NGError.Operation("\(Record.stateKind).stepCount")).step
    }

    /// The complete state: per layer its spec, step counts and the record's state (momentum,
    /// moments, statistics, inverses); workspaces are not saved (every step overwrites them
    /// before reading).
    public func stateBytes() -> [UInt8] {
        table.stateBytes(settings)
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        try table.restore(stateBytes: stateBytes, settings)
    }
}

/// Shares each layer's statistics as its record says: NG+'s GFIM or Woodbury rows, K-FAC's
/// factors; the records of first-order rules, Muon and Shampoo share nothing but gradients.
extension LayerwiseOptimizer: StatisticsSharing {
    public func sharedStatistics(of layer: LayerHandle) -> SharedStatistics {
        table.sharedStatistics(layer, settings)
    }

    public mutating func withSummedStatistics(
        of layer: LayerHandle, _ body: (inout MutableSpan<Scalar>) -> Void
    ) throws {
        try table.withSummedStatistics(layer, settings, body)
    }

    public mutating func withGatheredRows(
        of layer: LayerHandle, totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void
    ) throws {
        try table.withGatheredRows(layer, totalRows: totalRows, settings, body)
    }

    public func sharedRefresh(of layer: LayerHandle) -> SharedRefresh? {
        table.sharedRefresh(layer, settings)
    }

    public mutating func makeSharedRefresh(
        of layer: LayerHandle, values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>
    ) throws -> PreparedRefresh {
        try table.makeSharedRefresh(layer, values: &values, figures: &figures, settings)
    }

    public mutating func adoptSharedRefresh(
        of layer: LayerHandle, values: Span<Scalar>, figures: Span<Double>
    ) throws -> PreparedRefresh {
        try table.adoptSharedRefresh(layer, values: values, figures: figures, settings)
    }

    public mutating func step(
        _ layer: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>, refresh: PreparedRefresh?
    ) throws {
        try table.step(layer, weight: &weight, gradient: gradient, settings, refresh: refresh)
    }
}
