/// What a registered layer is. Its parameter is one matrix `W̃`, with a preconditioned bias as
/// its last column:
///
/// | kind | W̃ | `observe` inputs / output gradients |
/// | --- | --- | --- |
/// | `dense` | outputs × (inputs + bias) | B × inputs / B × outputs |
/// | `conv2d` | outChannels × (inChannels·kh·kw + bias) | B × (inChannels·H·W) / B × (outChannels·P) |
/// | `matrix` | rows × columns | none: the mini-batch GFIM of the gradient |
/// | `embedding` | vocabulary × width | none: a step takes the lookups and their output gradients |
/// | `vector` | 1 × length | none: plain momentum SGD, never preconditioned |
public enum LayerSpec: Sendable, Equatable, Codable {
    /// A dense layer `Y = X·Wᵀ + b`.
    case dense(outputs: Int, inputs: Int, bias: Bool)
    /// A 2-D convolution over `geometry`'s input, with `outChannels` filters.
    case conv2d(geometry: ConvGeometry, outChannels: Int, bias: Bool)
    /// Any matrix parameter (embedding, attention projection) preconditioned by the
    /// mini-batch GFIM of its gradient (docs/ALGORITHM.md §2b).
    case matrix(rows: Int, columns: Int)
    /// A vector (a bias without a preconditioned weight, a norm scale).
    case vector(length: Int)
    /// An embedding table of `vocabulary` rows of `width` values, stepped sparsely from its
    /// lookups (`LayerOptimizer.step(_:table:lookups:outputGradients:)`): only the rows a batch
    /// looked up change, at a cost in proportion to the lookups, not the vocabulary.
    case embedding(vocabulary: Int, width: Int)

    /// The shape of W̃.
    public var parameterShape: Shape {
        switch self {
        case let .dense(outputs, inputs, bias): Shape(outputs, inputs + (bias ? 1 : 0))
        case let .conv2d(geometry, outChannels, bias): Shape(outChannels, geometry.patchSize + (bias ? 1 : 0))
        case let .matrix(rows, columns): Shape(rows, columns)
        case let .vector(length): Shape(1, length)
        case let .embedding(vocabulary, width): Shape(vocabulary, width)
        }
    }

    /// The columns of W̃ that hold weights (the bias column, if any, is the last one and is
    /// exempt from weight decay).
    public var weightColumns: Int {
        switch self {
        case let .dense(_, inputs, _): inputs
        case let .conv2d(geometry, _, _): geometry.patchSize
        case let .matrix(_, columns): columns
        case .vector: 0
        case let .embedding(_, width): width
        }
    }

    /// Whether the layer is an embedding table, stepped from its lookups.
    public var isEmbedding: Bool {
        if case .embedding = self { true } else { false }
    }

    /// Throws `invalidArgument` for a non-positive size, a parameter W̃ whose rows, columns or
    /// element count exceed `Int32.max` (what BLAS and a workspace can take), or whose least
    /// optimizer state (four copies, one for a table) exceeds this machine's memory.
    public func validate(_ operation: NGError.Operation) throws(NGError) {
        let sizes: [(String, Int)] = switch self {
        case let .dense(outputs, inputs, _): [("outputs", outputs), ("inputs", inputs)]
        case let .conv2d(_, outChannels, _): [("outChannels", outChannels)]
        case let .matrix(rows, columns): [("rows", rows), ("columns", columns)]
        case let .vector(length): [("length", length)]
        case let .embedding(vocabulary, width): [("vocabulary", vocabulary), ("width", width)]
        }
        for (name, value) in sizes where value < 1 || value > Int(Int32.max) {
            throw .invalidArgument(
                operation: operation, argument: name, reason: "must be in 1...Int32.max, got \(value)")
        }
        // The sizes are now at most Int32.max each: W̃'s shape and element count cannot overflow.
        let shape = parameterShape
        let (elements, overflow) = shape.rows.multipliedReportingOverflow(by: shape.columns)
        try operation.require(
            shape.columns <= Int(Int32.max) && !overflow && elements <= Int(Int32.max), "layer",
            "has a parameter of \(shape), more than Int32.max values")
        // The least any optimizer allocates for it, in Float: a step's direction and new weight
        // and two buffers of state for a dense or matrix parameter, one table-sized buffer of
        // state for an embedding table (its workspaces hold one step's rows).
        let copies: Double = isEmbedding ? 1 : 4
        try MemoryRequirement.of("\(Int(copies)) buffers of its \(shape) parameter", elements: copies * Double(elements), Float.self)
            .check(operation, argument: "layer")
    }
}

/// A registered layer, as handed out by an optimizer's `register`.
public struct LayerHandle: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The registration index, from 0.
    public let index: Int

    public init(index: Int) { self.index = index }

    /// The handle of a layer not registered yet: every optimizer refuses it (`unknownLayer`).
    public static let unregistered = LayerHandle(index: -1)

    public var description: String { "layer \(index)" }
}
