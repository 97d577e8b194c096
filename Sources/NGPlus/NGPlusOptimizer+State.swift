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
        momentum.encode(to: &writer)
        if let perSample {
            perSample.encode(to: &writer)
        }
        if let matrix {
            writer.write(matrix.momentum)
            matrix.gfim.encode(to: &writer)
            matrix.inverse.encode(to: &writer)
        }
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let savedStep = try reader.readInt()
        let savedObserved = try reader.readInt()
        guard savedStep >= 0, savedObserved >= -1, savedObserved <= savedStep else {
            throw reader.fail("impossible step counts \(savedStep), \(savedObserved)")
        }
        step = savedStep
        observedStep = savedObserved
        try momentum.restore(from: &reader)
        if perSample != nil { try perSample!.restore(from: &reader) }
        if matrix != nil {
            try reader.read(into: &matrix!.momentum, what: "matrix momentum")
            try matrix!.gfim.restore(from: &reader)
            try matrix!.inverse.restore(from: &reader)
        }
    }
}

extension PerSampleCurvature: StateCodable {
    func encode(to writer: inout StateWriter) {
        writer.write(plan.side.rawValue + " " + plan.method.rawValue)
        writer.write(hasStatistics)
        linear?.encode(to: &writer)
        gfim.encode(to: &writer)
        cholesky?.encode(to: &writer)
        woodbury?.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let saved = try reader.readString()
        let expected = plan.side.rawValue + " " + plan.method.rawValue
        guard saved == expected else { throw reader.fail("a layer planned as \(saved), now \(expected)") }
        hasStatistics = try reader.readBool()
        if linear != nil { try linear!.restore(from: &reader) }
        try gfim.restore(from: &reader)
        if cholesky != nil { try cholesky!.restore(from: &reader) }
        if woodbury != nil { try woodbury!.restore(from: &reader) }
    }
}

/// A stable text form of a layer spec, saved with its state and compared on load.
func specDescription(_ spec: LayerSpec) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: (try? encoder.encode(spec)) ?? Data(), as: UTF8.self)
}
