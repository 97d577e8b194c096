/// Saving and restoring per-layer optimizer state in the `StateFile` format, shared by every
/// optimizer: a layer count, then per layer its spec (compared on load) and its own state.

/// The sealed state of `layers`: count, then per layer its spec text and `body`.
func sealLayers<Layer: SpecifiedLayer>(
    _ layers: [Layer], optimizer: String, scalar: String, _ body: (Layer, inout StateWriter) -> Void
) -> [UInt8] {
    var writer = StateWriter()
    writer.write(layers.count)
    for layer in layers {
        writer.write(specDescription(layer.spec))
        body(layer, &writer)
    }
    return StateFile.seal(payload: writer.bytes, optimizer: optimizer, scalar: scalar)
}

/// A layer record with the spec it was registered with.
protocol SpecifiedLayer {
    var spec: LayerSpec { get }
}

/// Restores every layer of `layers` from `reader` (count, then per layer its spec text and
/// `body`), checking the count, each spec and that nothing is left over.
func restoreLayers<Layer: SpecifiedLayer>(
    _ layers: inout [Layer], from reader: inout StateReader,
    _ body: (inout Layer, inout StateReader) throws(NGError) -> Void
) throws(NGError) {
    let count = try reader.readInt()
    guard count == layers.count else { throw reader.fail("\(count) layers saved, \(layers.count) registered") }
    for i in layers.indices {
        let saved = try reader.readString()
        let expected = specDescription(layers[i].spec)
        guard saved == expected else { throw reader.fail("a layer saved as \(saved) where \(expected) is registered") }
        try body(&layers[i], &reader)
    }
    guard reader.isAtEnd else { throw reader.fail("unexpected bytes after the last layer") }
}

extension StateReader {
    /// A step count: a non-negative integer.
    mutating func readStepCount() throws(NGError) -> Int {
        let step = try readInt()
        guard step >= 0 else { throw fail("a negative step count \(step)") }
        return step
    }
}
