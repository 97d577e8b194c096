import NGPlus

/// A 2-D convolution, ReLU and 2×2 max pooling as one layer: the function and the gradients of
/// `Conv2d` followed by `MaxPool2x2(rectify: true)`, with the same parameter `W̃ = [W | b]`
/// (c_out × (K + 1)) and the same He initialisation, but a sample at a time
/// (`NetworkKernels.sampleConvolution`): each sample's patches and full-resolution output are
/// formed, convolved and pooled in a thread's scratch while they are in cache, so the batch's
/// patches, the full-resolution output and its gradient (each several MB for a first
/// convolution) are never written to memory and read back. The backward pass scatters the
/// pooled gradient into the sample's full-resolution gradient in the scratch, unfolds the
/// sample again, and adds its weight gradient; the input gradient, when computed, is `Wᵀ·dYᵢ`
/// folded. A "same" convolution at stride 1, or one at stride 2 with a kernel larger than 1 × 1,
/// with patches of 32 rows or more reads padded planes (or their phases) instead of unfolding
/// (`DirectConvolutionLayout`).
///
/// Input and output are sample-major: `B × (c_in·H·W)` in, `B × (c_out·P/4)` out, P the output
/// positions (whose height and width must be even). The weight gradient sums its samples in
/// groups of eight, each on one thread, then the groups in order: it does not depend on
/// the thread count. NG+ and K-FAC observe X and the full-resolution dY (`B × (c_out·P)`),
/// which is formed from the pooled gradient only on the steps whose optimizer uses it.
public final class PooledConv2d<Scalar: NetworkScalar>: TrainableLayer {
    public let geometry: ConvGeometry
    public let outChannels: Int
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    public let computesInputGradient: Bool
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    /// Each pooled output's maximum as an offset in its sample's c_out × P output, or −1 where
    /// the output is 0 (no gradient passes).
    var argmax: [Int32] = []
    /// The passes and their workspaces.
    var convolution: SampleConvolution<Scalar>
    var gradient: Matrix<Scalar>
    /// dY as backward received it (pooled), kept for the optimizer's observation.
    var pooledGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// The full-resolution dY, sample-major, formed for an optimizer that observes it.
    var observedGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// Each sample's weight gradient on the steps whose optimizer takes them.
    var sampleGradients = KeptSampleGradients<Scalar>()

    /// - Throws: `invalidArgument` for an output of odd height or width, one whose sample has
    ///   2³¹ values or more, and the checks of `Conv2d`'s initializer (the spec, the memory of
    ///   the weight and its gradient).
    public init(
        geometry: ConvGeometry, outChannels: Int, computesInputGradient: Bool = true,
        using generator: inout SeededGenerator
    ) throws(NGError) {
        let operation = NGError.Operation.pooledConv2dInit
        try operation.require(
            geometry.outHeight % 2 == 0 && geometry.outWidth % 2 == 0, "geometry",
            "the output \(geometry.outHeight)×\(geometry.outWidth) must have an even height and width for 2×2 pooling")
        let (values, overflow) = outChannels.multipliedReportingOverflow(by: geometry.positions)
        try operation.require(
            !overflow && values < Int(Int32.max), "outChannels",
            "\(outChannels) channels of \(geometry.positions) positions are 2³¹ values or more")
        weight = try Conv2d<Scalar>.initialWeight(geometry: geometry, outChannels: outChannels, operation, using: &generator)
        self.geometry = geometry
        self.outChannels = outChannels
        self.computesInputGradient = computesInputGradient
        gradient = Matrix(rows: outChannels, columns: geometry.patchSize + 1)
        convolution = SampleConvolution(geometry: geometry, outChannels: outChannels)
    }

    /// Whether the passes read padded planes in place (`DirectConvolutionLayout`) rather than
    /// unfold the patches.
    package var readsPaddedPlanes: Bool { convolution.direct != nil }

    public var spec: LayerSpec { .conv2d(geometry: geometry, outChannels: outChannels, bias: true) }

    /// The convolution's GEMM flops (pooling is not counted), under the convolution's name with
    /// " + pool" after it.
    public var flops: LayerFlops {
        let convolution = LayerFlops.conv2d(geometry, outChannels: outChannels, inputGradient: computesInputGradient)
        return LayerFlops(name: convolution.name + " + pool", forward: convolution.forward, backward: convolution.backward)
    }

    /// c_out · P/4 values per sample.
    public var outputLength: Int { outChannels * geometry.positions / 4 }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, geometry.inputLength), .pooledConv2dForward, "input")
        let batch = x.rows
        ensureShape(&output, batch, outputLength)
        if argmax.count != batch * outputLength { argmax = Array(repeating: 0, count: batch * outputLength) }
        input = x
        let layout = SampleConvolutionLayout.sampleMajor(geometry, outChannels: outChannels)
        argmax.withUnsafeMutableBufferPointer { argmax in
            convolution.forward(x, weight: weight, layout: layout, into: &output, argmax: argmax.baseAddress)
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        let batch = input.rows
        try dy.requireShape(Shape(batch, outputLength), .pooledConv2dBackward, "outputGradient")
        pooledGradient = dy
        if computesInputGradient { ensureShape(&inputGradient, batch, geometry.inputLength) }
        let layout = SampleConvolutionLayout.sampleMajor(geometry, outChannels: outChannels)
        sampleGradients.keeping(batch: batch, outChannels: outChannels, patchRows: geometry.patchSize + 1) { kept in
            argmax.withUnsafeBufferPointer { argmax in
                convolution.backward(
                    input, weight: weight, outputGradient: dy, layout: layout, argmax: argmax.baseAddress,
                    gradient: &gradient, inputGradient: &inputGradient, sampleGradients: &kept)
            }
        }
        return inputGradient
    }

    /// The backward pass keeps each sample's weight gradient when the optimizer takes them.
    public func prepareStep<O: SynchronizedOptimizer>(for optimizer: O) where O.Scalar == Scalar {
        sampleGradients.request(from: optimizer, handle)
    }

    public var handsSampleGradients: Bool { true }

    /// The statistics: the per-sample gradients the backward pass kept, or else (an optimizer
    /// that takes X and dY) the full-resolution dY formed from the pooled one.
    public func submit<O: SynchronizedOptimizer>(to optimizer: inout O) throws where O.Scalar == Scalar {
        let handedOver = try sampleGradients.submit(to: &optimizer, handle)
        if !handedOver && optimizer.usesObservation(handle) {
            try optimizer.observe(handle, inputs: input, outputGradients: fullResolutionGradient())
        }
        try optimizer.submit(handle, gradient: gradient)
    }

    public func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.step(handle, weight: &weight, submitted: .gradient(gradient))
    }

    /// dY at full resolution, sample-major (`B × (c_out·P)`): each pooled gradient at its
    /// window's maximum, zero elsewhere, as the optimizer's observation reads it.
    func fullResolutionGradient() -> Matrix<Scalar> {
        let (batch, pooled, full) = (input.rows, outputLength, outChannels * geometry.positions)
        ensureShape(&observedGradient, batch, full)
        let layout = PoolingLayout(channels: outChannels, height: geometry.outHeight, width: geometry.outWidth, channelMajorBatch: nil)
        pooledGradient.withView { dy in
            observedGradient.withMutableView { target in
                argmax.withUnsafeBufferPointer { argmax in
                    guard let argmax = argmax.baseAddress else { return }
                    ParallelLoop.forEachChunk(batch, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(1, full))) { samples in
                        for i in samples {
                            NetworkKernels.maxPoolBackward(
                                dy.base + i * pooled, argmax: argmax + i * pooled, layout, samples: 0..<1,
                                into: target.base + i * full)
                        }
                    }
                }
            }
        }
        return observedGradient
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
        pooledGradient = Matrix(rows: 0, columns: 0)
        sampleGradients.release()
    }
}
