import NGPlus

/// A residual connection around a sequence of layers: `y = x + f(x)`, f the layers in order;
/// backward `dx = dy + f′ᵀ(dy)`. The layers' parameters are the model's like any other
/// (`LayerContainer`).
public final class Residual<Scalar: NetworkScalar>: NetworkLayer, LayerContainer {
    public let sublayers: [any NetworkLayer<Scalar>]
    public var layerTimes: LayerTimeAccount?
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` when `layers` is empty (a residual of nothing would be `2x`).
    public init(_ layers: [any NetworkLayer<Scalar>]) throws(NGError) {
        guard !layers.isEmpty else {
            throw .invalidArgument(operation: .residualInit, argument: "layers", reason: "is empty: a residual connection around no layer")
        }
        sublayers = layers
    }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        var activation = x
        for i in sublayers.indices {
            let layer = sublayers[i]
            activation = try LayerTimeAccount.measure(layerTimes, .layer(layer), .forward) { () throws(NGError) in
                try layer.forward(activation)
            }
        }
        try activation.requireShape(x.shape, .residualForward, "output of the layers (must keep the input's shape)")
        ensureShape(&output, x.rows, x.columns)
        withViews(x, activation, mutating: &output) { x, f, y in
            y.update(from: x)
            BLAS.axpy(1, f.flattened, into: y.flattened)
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(output.shape, .residualBackward, "outputGradient")
        var gradient = dy
        for i in sublayers.indices.reversed() {
            let layer = sublayers[i]
            gradient = try LayerTimeAccount.measure(layerTimes, .layer(layer), .backward) { () throws(NGError) in
                try layer.backward(gradient)
            }
        }
        ensureShape(&inputGradient, dy.rows, dy.columns)
        withViews(dy, gradient, mutating: &inputGradient) { dy, f, dx in
            dx.update(from: dy)
            BLAS.axpy(1, f.flattened, into: dx.flattened)
        }
        return inputGradient
    }

    public func release() {
        for i in sublayers.indices { sublayers[i].release() }
    }
}

/// A layer made of layers (a residual block): the model finds the trainable layers inside,
/// and the container times its sublayers into the model's account.
public protocol LayerContainer<Scalar>: AnyObject {
    associatedtype Scalar: BLASScalar
    var sublayers: [any NetworkLayer<Scalar>] { get }
    /// The account the container's sublayers record their passes in (`Model.recordLayerTimes`).
    var layerTimes: LayerTimeAccount? { get set }
}
