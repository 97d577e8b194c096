/// A setting with a value that settings saved before it existed stand for.
public protocol DecodingDefault {
    /// The value a saved configuration without the setting decodes to: the behaviour of the
    /// version that wrote it.
    static var decodingDefault: Self { get }
}

/// A configuration property added after configurations were first saved: a saved
/// configuration (a checkpoint's) without its key decodes to `Value.decodingDefault`, so that
/// older checkpoints keep loading.
@propertyWrapper
public struct DecodedWithDefault<Value: Codable & Sendable & Equatable & DecodingDefault>: Codable, Sendable, Equatable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws { wrappedValue = try Value(from: decoder) }

    public func encode(to encoder: any Encoder) throws { try wrappedValue.encode(to: encoder) }
}

extension KeyedDecodingContainer {
    /// A `DecodedWithDefault` property: its default when the key is absent.
    public func decode<Value>(_ type: DecodedWithDefault<Value>.Type, forKey key: Key) throws -> DecodedWithDefault<Value> {
        try decodeIfPresent(type, forKey: key) ?? DecodedWithDefault(wrappedValue: Value.decodingDefault)
    }
}
