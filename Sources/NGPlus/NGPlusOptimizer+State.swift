import Foundation

extension NGPlusOptimizer {
    static var stateKind: String { "NGPlusOptimizer" }

    /// The complete state: per layer its spec, step counts, momentum, statistics and inverse;
    /// workspaces are not saved (every step overwrites them before reading).
    public func stateBytes() -> [UInt8] {
        sealLayers(layers, optimizer: Self.stateKind, scalar: "\(Scalar.self)") { layer, writer in
            layer.encode(to: &writer)
        }
    }

    public mutating func restore(stateBytes: [UInt8]) throws(NGError) {
        var reader = try StateFile.open(
            stateBytes, optimizer: Self.stateKind, scalar: "\(Scalar.self)", operation: "NGPlusOptimizer.load")
        var restored = layers
        try restoreLayers(&restored, from: &reader) { layer, reader throws(NGError) in
            try layer.restore(from: &reader)
        }
        layers = restored
    }
}

extension NGPlusOptimizer.Layer: StateCodable, SpecifiedLayer {
    func encode(to writer: inout StateWriter) {
        writer.write(step)
        writer.write(observedStep)
        update.rule.encode(to: &writer)
        curvature.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let savedStep = try reader.readInt()
        let savedObserved = try reader.readInt()
        guard savedStep >= 0, savedObserved >= -1, savedObserved <= savedStep else {
            throw reader.fail("impossible step counts \(savedStep), \(savedObserved)")
        }
        step = savedStep
        observedStep = savedObserved
        try update.rule.restore(from: &reader)
        try curvature.restore(from: &reader)
    }
}

/// A stable text form of a layer spec, saved with its state and compared on load.
func specDescription(_ spec: LayerSpec) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: (try? encoder.encode(spec)) ?? Data(), as: UTF8.self)
}
