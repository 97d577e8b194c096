import NGPlus

/// A residual connection around a sequence of layers: `y = s(x) + f(x)`, f the layers in order
/// and s the shortcut — the identity, or layers of its own where f changes the shape (a ResNet
/// block's strided 1×1 convolution and its normalization). Backward `dx = s′ᵀ(dy) + f′ᵀ(dy)`.
/// The layers' parameters, the shortcut's included, are the model's like any other
/// (`LayerContainer`). With `rectify`, a ReLU after the sum is fused into it, `y = max(0, s(x) +
/// f(x))`: the same bits as the connection then `ReLU`, one pass over the output fewer. Without
/// it, and with the identity shortcut, the sums are made inside f's layers where they can: by
/// its last layer's output pass (`ResidualOutputFusing`, a `Dense`) and its first layer's
/// backward pass (`ResidualGradientFusing`, a `LayerNorm`), a pass over memory fewer each.
public final class Residual<Scalar: NetworkScalar>: NetworkLayer, LayerContainer {
    /// f's layers, then the shortcut's.
    public let sublayers: [any NetworkLayer<Scalar>]
    /// How many of `sublayers` are f's.
    public let mainCount: Int
    /// Whether a ReLU is fused after the sum.
    public let rectify: Bool
    public var layerTimes: LayerTimeAccount?
    /// f's last layer, when it adds the shortcut's value in its output pass.
    let fusedOutput: (any ResidualOutputFusing<Scalar>)?
    /// f's first layer, when it adds the connection's output gradient into its input gradient.
    let fusedGradient: (any ResidualGradientFusing<Scalar>)?
    /// The shape of the last forward's output.
    var outputShape = Shape(0, 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    /// dy through the fused ReLU (with `rectify`).
    var rectifiedGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Parameters:
    ///   - layers: f, in order.
    ///   - shortcut: s, in order (none: the identity).
    ///   - rectify: a ReLU after the sum, fused (false).
    /// - Throws: `invalidArgument` when `layers` is empty (a residual of nothing would be `2x`).
    public init(
        _ layers: [any NetworkLayer<Scalar>], shortcut: [any NetworkLayer<Scalar>] = [], rectify: Bool = false
    ) throws(NGError) {
        try NGError.Operation.residualInit.require(
            !layers.isEmpty, "layers", "is empty: a residual connection around no layer")
        sublayers = layers + shortcut
        mainCount = layers.count
        self.rectify = rectify
        let fusable = shortcut.isEmpty && !rectify
        fusedOutput = fusable ? layers.last as? any ResidualOutputFusing<Scalar> : nil
        fusedGradient = fusable ? layers.first as? any ResidualGradientFusing<Scalar> : nil
    }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        if let last = fusedOutput {
            guard last.outputs == x.columns else {
                throw .shapeMismatch(
                    operation: .residualForward, argument: Self.layersOutput, expected: x.shape,
                    actual: Shape(x.rows, last.outputs))
            }
            let a = try forward(x, through: 0..<mainCount - 1)
            let y = try LayerTimeAccount.measure(layerTimes, .layer(sublayers[mainCount - 1]), .forward) {
                () throws(NGError) in try last.forward(a, adding: x)
            }
            outputShape = y.shape
            return y
        }
        let f = try forward(x, through: 0..<mainCount)
        let s = try forward(x, through: mainCount..<sublayers.count)
        try f.requireShape(s.shape, .residualForward, Self.layersOutput)
        if rectify {
            forEachChunk(s, f, into: &output, minimumChunk: Self.minimumChunk) { NetworkKernels.rectifiedSum($0, $1, into: $2, count: $3) }
        } else {
            Self.add(s, f, into: &output)
        }
        outputShape = output.shape
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(outputShape, .residualBackward, "outputGradient")
        if let first = fusedGradient {
            let g = try backward(dy, through: 1..<mainCount)
            return try LayerTimeAccount.measure(layerTimes, .layer(sublayers[0]), .backward) {
                () throws(NGError) in try first.backward(g, adding: dy)
            }
        }
        var gradient = dy
        if rectify {
            forEachChunk(output, dy, into: &rectifiedGradient, minimumChunk: Self.minimumChunk) {
                NetworkKernels.reluBackward(output: $0, outputGradient: $1, into: $2, count: $3)
            }
            gradient = rectifiedGradient
        }
        let f = try backward(gradient, through: 0..<mainCount)
        let s = try backward(gradient, through: mainCount..<sublayers.count)
        Self.add(s, f, into: &inputGradient)
        return inputGradient
    }

    public func release() {
        for i in sublayers.indices { sublayers[i].release() }
    }

    /// Values a core takes at the least: below, one core does it all.
    static var minimumChunk: Int { 1 << 15 }

    /// What a sum of two branches of different shapes names.
    static var layersOutput: String { "output of the layers (must have the shortcut's shape)" }

    /// `c = a + b` in one pass over each core's chunk (a copy and an AXPY were two), as
    /// `a − (−1)·b`: the same rounding as the sum.
    static func add(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>, into c: inout Matrix<Scalar>) {
        forEachChunk(a, b, into: &c, minimumChunk: minimumChunk) {
            _ = Scalar.scaledUpdate($0, keep: 1, minus: -1, times: $1, into: $2, count: $3)
        }
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
