import NGPlus

/// A residual connection around a sequence of layers: `y = s(x) + f(x)`, f the layers in order
/// and s the shortcut — the identity, or layers of its own where f changes the shape (a ResNet
/// block's strided 1×1 convolution and its normalization). Backward `dx = s′ᵀ(dy) + f′ᵀ(dy)`.
/// The layers' parameters, the shortcut's included, are the model's like any other
/// (`LayerContainer`).
public final class Residual<Scalar: NetworkScalar>: NetworkLayer, LayerContainer {
    /// f's layers, then the shortcut's.
    public let sublayers: [any NetworkLayer<Scalar>]
    /// How many of `sublayers` are f's.
    public let mainCount: Int
    public var layerTimes: LayerTimeAccount?
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` when `layers` is empty (a residual of nothing would be `2x`).
    public init(_ layers: [any NetworkLayer<Scalar>], shortcut: [any NetworkLayer<Scalar>] = []) throws(NGError) {
        try NGError.Operation.residualInit.require(
            !layers.isEmpty, "layers", "is empty: a residual connection around no layer")
        sublayers = layers + shortcut
        mainCount = layers.count
    }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        let f = try forward(x, through: 0..<mainCount)
        let s = try forward(x, through: mainCount..<sublayers.count)
        try f.requireShape(s.shape, .residualForward, "output of the layers (must have the shortcut's shape)")
        ensureShape(&output, f.rows, f.columns)
        withViews(s, f, mutating: &output) { s, f, y in Self.add(s, f, into: y) }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .residualBackward, "outputGradient")
        let f = try backward(dy, through: 0..<mainCount)
        let s = try backward(dy, through: mainCount..<sublayers.count)
        ensureShape(&inputGradient, f.rows, f.columns)
        withViews(s, f, mutating: &inputGradient) { s, f, dx in Self.add(s, f, into: dx) }
        return inputGradient
    }

    public func release() {
        for i in sublayers.indices { sublayers[i].release() }
    }

    /// `c = a + b` in one pass (a copy and an AXPY were two), as `a − (−1)·b`: the same
    /// rounding as the sum.
    static func add(_ a: MatrixView<Scalar>, _ b: MatrixView<Scalar>, into c: MutableMatrixView<Scalar>) {
        let (a, b, c) = (a.flattened, b.flattened, c.flattened)
        _ = Scalar.scaledUpdate(a.base, keep: 1, minus: -1, times: b.base, into: c.base, count: c.count)
    }
}

/// A layer made of layers (a residual block, a recommender's feature interaction): the model
/// finds the trainable layers inside, and the container times its sublayers into the model's
/// account.
public protocol LayerContainer<Scalar>: AnyObject {
    associatedtype Scalar: BLASScalar
    var sublayers: [any NetworkLayer<Scalar>] { get }
    /// The account the container's sublayers record their passes in (`Model.recordLayerTimes`).
    var layerTimes: LayerTimeAccount? { get set }
}

extension LayerContainer {
    /// `x` through `sublayers[range]` in order (`x` itself for an empty range), timed.
    func forward(_ x: Matrix<Scalar>, through range: Range<Int>) throws(NGError) -> Matrix<Scalar> {
        var activation = x
        for i in range {
            let layer = sublayers[i]
            activation = try LayerTimeAccount.measure(layerTimes, .layer(layer), .forward) { () throws(NGError) in
                try layer.forward(activation)
            }
        }
        return activation
    }

    /// `dy` back through `sublayers[range]` in reverse order (`dy` itself for an empty range), timed.
    func backward(_ dy: Matrix<Scalar>, through range: Range<Int>) throws(NGError) -> Matrix<Scalar> {
        var gradient = dy
        for i in range.reversed() {
            let layer = sublayers[i]
            gradient = try LayerTimeAccount.measure(layerTimes, .layer(layer), .backward) { () throws(NGError) in
                try layer.backward(gradient)
            }
        }
        return gradient
    }
}
