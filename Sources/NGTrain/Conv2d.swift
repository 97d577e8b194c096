import NGPlus

/// A 2-D convolution over channel-major samples (one per row: c_in × H × W), its parameter
/// `W̃ = [W | b]` (c_out × (c_in·kh·kw + 1)), He-initialised, computed one of two ways:
///
/// - **By sample** (`NetworkKernels.sampleConvolution`), where the weight gradient has at most
///   65,536 values (few channels): each sample's patches Ũᵢ (or a tile of a few samples', where
///   a sample has few positions) are unfolded into a thread's scratch, which stays in cache,
///   and `Yᵢ = W̃·Ũᵢ`, `dYᵢ·Ũᵢᵀ` and `Wᵀ·dYᵢ` are small products on that thread; the batch's
///   patches are never stored. A "same" convolution at stride 1, or one at stride 2 with a
///   kernel larger than 1 × 1, does not unfold at all: its products read the sample's
///   zero-bordered planes (at stride 2 their four phases) in place (`DirectConvolutionLayout`).
/// - **Over the batch** otherwise: the whole batch is unfolded into one patch matrix Ũ (K+1
///   rows, B·P columns, the last row ones for the bias), so forward, weight gradient and patch
///   gradient are one GEMM each: `Y = W̃·Ũ`, `∇W̃ = dY·Ũᵀ`, `dŨ = Wᵀ·dY`; col2im folds the patch
///   gradient back.
///
/// NG+ preconditions ∇W̃ and takes the per-sample statistics from X and dY. By default the
/// layer hands on the sample-major `B × (c_out·P)` (and takes its gradient so); with
/// `channelMajorOutput` it hands on Y channel-major, `c_out × (B·P)`, as the batch's GEMM
/// leaves it, for a next layer that reads either (`MaxPool2x2(channelMajorInput:)`), and takes
/// dY channel-major too: no layout pass in either direction. The optimizer's observation,
/// which is sample-major, is then formed only on steps that use it.
public final class Conv2d<Scalar: NetworkScalar>: TrainableLayer {
    public let geometry: ConvGeometry
    public let outChannels: Int
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    public let computesInputGradient: Bool
    /// True when the output (and its gradient) is channel-major, `c_out × (B·P)`.
    public let channelMajorOutput: Bool
    /// Ũ for the batch: (K + 1) × (B·P).
    var patches = Matrix<Scalar>(rows: 0, columns: 0)
    /// Y or dY with channels as rows: c_out × (B·P).
    var channelMajor = Matrix<Scalar>(rows: 0, columns: 0)
    /// dŨ for a group of samples: K × (group · P).
    var patchGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// About how many bytes of patch gradient are formed and folded at a time (at least one
    /// sample's): small enough to stay in cache between the GEMM and the fold.
    package var patchGradientBytes = 4 << 20
    var gradient: Matrix<Scalar>
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    /// dY as the optimizer reads it, sample-major (formed on demand with `channelMajorOutput`).
    var outputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// dY as backward received it with `channelMajorOutput`, kept for the optimizer's update.
    var channelMajorGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    /// True when the layer convolves a sample at a time (`NetworkKernels.sampleConvolution`)
    /// instead of one GEMM over the batch's patches; `convolvesBySample(geometry:outChannels:)`
    /// chooses.
    package var bySample: Bool
    /// The passes by sample and their workspaces (allocated at the first pass that uses them).
    var bySampleConvolution: SampleConvolution<Scalar>
    /// By sample, each sample's weight gradient on the steps whose optimizer takes them.
    var sampleGradients = KeptSampleGradients<Scalar>()

    public init(
        geometry: ConvGeometry, outChannels: Int, computesInputGradient: Bool = true, channelMajorOutput: Bool = false,
        using generator: inout SeededGenerator
    ) throws(NGError) {
        weight = try Self.initialWeight(geometry: geometry, outChannels: outChannels, .conv2dInit, using: &generator)
        self.geometry = geometry
        self.outChannels = outChannels
        self.computesInputGradient = computesInputGradient
        self.channelMajorOutput = channelMajorOutput
        gradient = Matrix(rows: outChannels, columns: geometry.patchSize + 1)
        bySample = Self.convolvesBySample(geometry: geometry, outChannels: outChannels)
        bySampleConvolution = SampleConvolution(geometry: geometry, outChannels: outChannels)
    }

    /// Whether a convolution of this shape runs a sample at a time: where its weight gradient
    /// has at most 65,536 values — every convolution of ResNet-20 (at most 36,928) and the CNN's
    /// second (18,496). Its 64-channel layers on 7 × 7 images ran over the batch until a tile
    /// of samples shared each product (docs/TRAINING.md, "Convolutions a sample at a time").
    static func convolvesBySample(geometry: ConvGeometry, outChannels: Int) -> Bool {
        outChannels * (geometry.patchSize + 1) <= 1 << 16
    }

    /// A convolution's `W̃` (c_out × (K + 1)), He-initialised (bias 0), after the checks of its
    /// spec and of the memory it and its gradient take (`PooledConv2d` shares them).
    static func initialWeight(
        geometry: ConvGeometry, outChannels: Int, _ operation: NGError.Operation, using generator: inout SeededGenerator
    ) throws(NGError) -> Matrix<Scalar> {
        try LayerSpec.conv2d(geometry: geometry, outChannels: outChannels, bias: true).validate(operation)
        let requirement = MemoryRequirement.of(
            "a \(outChannels) × \(geometry.patchSize + 1) convolution weight and its gradient",
            elements: 2 * Double(outChannels) * (Double(geometry.patchSize) + 1), Scalar.self)
        try requirement.check(operation, argument: "outChannels")
        let k = geometry.patchSize
        let scale = (2 / Double(k)).squareRoot()
        return .normal(rows: outChannels, columns: k + 1, drawnColumns: k, deviation: scale, using: &generator)
    }

    public var spec: LayerSpec { .conv2d(geometry: geometry, outChannels: outChannels, bias: true) }

    public var flops: LayerFlops { .conv2d(geometry, outChannels: outChannels, inputGradient: computesInputGradient) }

    /// c_out · P values per sample.
    public var outputLength: Int { outChannels * geometry.positions }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, geometry.inputLength), .conv2dForward, "input")
        let (batch, p, k, c) = (x.rows, geometry.positions, geometry.patchSize, outChannels)
        let columns = batch * p
        if bySample { return forwardBySample(x) }
        if patches.columns != columns { patches = Matrix(rows: k + 1, columns: columns, repeating: 1) }
        ensureShape(&channelMajor, c, columns)
        input = x
        let geometry = self.geometry
        x.withView { x in
            patches.withMutableView { u in geometry.unfoldOnAllCores(x, into: u) }
        }
        withViews(weight, patches, mutating: &channelMajor) { w, u, y in BLAS.gemm(w, u, into: y) }
        if channelMajorOutput { return channelMajor }
        ensureShape(&output, batch, outputLength)
        transpose(channelMajor, into: &output, toSampleMajor: true, batch: batch)
        return output
    }

    /// The forward pass a sample at a time, each sample's output written where the layout
    /// hands it on.
    func forwardBySample(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
        input = x
        if channelMajorOutput {
            ensureShape(&channelMajor, outChannels, x.rows * geometry.positions)
            bySampleConvolution.forward(x, weight: weight, layout: layout(batch: x.rows), into: &channelMajor, argmax: nil)
            return channelMajor
        }
        ensureShape(&output, x.rows, outputLength)
        bySampleConvolution.forward(x, weight: weight, layout: layout(batch: x.rows), into: &output, argmax: nil)
        return output
    }

    /// Where sample i's output (and its gradient) lies in the layout the layer hands on.
    func layout(batch: Int) -> SampleConvolutionLayout {
        channelMajorOutput ? .channelMajor(geometry, batch: batch) : .sampleMajor(geometry, outChannels: outChannels)
    }

    /// Between channel-major `c × (B·P)` and sample-major `B × (c·P)`: B·c copies of P values.
    func transpose(_ source: Matrix<Scalar>, into target: inout Matrix<Scalar>, toSampleMajor: Bool, batch: Int) {
        let (p, c) = (geometry.positions, outChannels)
        source.withView { s in
            target.withMutableView { t in
                ParallelLoop.forEachChunk(batch, minimumChunk: 4) { samples in
                    for i in samples {
                        for o in 0..<c {
                            // Channel o of sample i: row o, columns i·P… (channel-major), or row i,
                            // columns o·P… (sample-major).
                            let (channelMajor, sampleMajor) = ((o, i * p), (i, o * p))
                            let (from, to) = toSampleMajor ? (channelMajor, sampleMajor) : (sampleMajor, channelMajor)
                            t.rows(to.0..<to.0 + 1).columns(to.1..<to.1 + p)
                                .update(from: s.rows(from.0..<from.0 + 1).columns(from.1..<from.1 + p))
                        }
                    }
                }
            }
        }
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        let (batch, p, k, c) = (input.rows, geometry.positions, geometry.patchSize, outChannels)
        let columns = batch * p
        if channelMajorOutput {
            try dy.requireShape(Shape(c, columns), .conv2dBackward, "outputGradient")
            channelMajorGradient = dy
        } else {
            try dy.requireShape(Shape(batch, outputLength), .conv2dBackward, "outputGradient")
            outputGradient = dy
            if !bySample { transpose(dy, into: &channelMajor, toSampleMajor: false, batch: batch) }
        }
        if bySample { return backwardBySample(dy) }
        let g = channelMajorOutput ? dy : channelMajor
        withViews(g, patches, mutating: &gradient) { g, u, dw in BLAS.gemm(g, u, transposeB: true, into: dw) }
        guard computesInputGradient else { return inputGradient }
        // The patch gradient a group of samples at a time, folded while it is still in cache:
        // the whole batch's (K × B·P, 29 MB for the CNN's second convolution at batch 128)
        // would go to memory and back.
        let group = Swift.max(1, Swift.min(batch, patchGradientBytes / Swift.max(1, k * p * MemoryLayout<Scalar>.stride)))
        ensureShape(&patchGradient, k, group * p)
        ensureShape(&inputGradient, batch, geometry.inputLength)
        let geometry = self.geometry
        for start in stride(from: 0, to: batch, by: group) {
            let samples = start..<Swift.min(batch, start + group)
            let groupColumns = (samples.lowerBound * p)..<(samples.upperBound * p)
            withViews(weight, g, mutating: &patchGradient) { w, g, du in
                BLAS.gemm(w.columns(0..<k), transposeA: true, g.columns(groupColumns), into: du.columns(0..<groupColumns.count))
            }
            patchGradient.withMutableView { du in
                inputGradient.withMutableView { dx in
                    ParallelLoop.forEachChunk(samples.count, minimumChunk: 4) { chunk in
                        // Columns of the group's patch gradient, rows of the batch's input gradient.
                        let patchColumns = (chunk.lowerBound * p)..<(chunk.upperBound * p)
                        let rows = (start + chunk.lowerBound)..<(start + chunk.upperBound)
                        NetworkKernels.fold(geometry, du.columns(patchColumns).base, ld: du.leadingDimension, batch: chunk.count,
                                    sampleStride: dx.leadingDimension, into: dx.rows(rows).base)
                    }
                }
            }
        }
        return inputGradient
    }

    /// The backward pass a sample at a time, dY read where the layout has it.
    func backwardBySample(_ dy: Matrix<Scalar>) -> Matrix<Scalar> {
        if computesInputGradient { ensureShape(&inputGradient, input.rows, geometry.inputLength) }
        sampleGradients.keeping(batch: input.rows, outChannels: outChannels, patchRows: geometry.patchSize + 1) { kept in
            bySampleConvolution.backward(
                input, weight: weight, outputGradient: dy, layout: layout(batch: input.rows), argmax: nil,
                gradient: &gradient, inputGradient: &inputGradient, sampleGradients: &kept)
        }
        return inputGradient
    }

    /// By sample, the backward pass keeps each sample's weight gradient when the optimizer
    /// takes them.
    public func prepareStep<O: SynchronizedOptimizer>(for optimizer: O) where O.Scalar == Scalar {
        if bySample { sampleGradients.request(from: optimizer, handle) }
    }

    public var handsSampleGradients: Bool { bySample }

    public func submit<O: SynchronizedOptimizer>(to optimizer: inout O) throws where O.Scalar == Scalar {
        let handedOver = try sampleGradients.submit(to: &optimizer, handle)
        if !handedOver && (optimizer.usesObservation(handle) || !channelMajorOutput) {
            try optimizer.observe(handle, inputs: input, outputGradients: observedGradient())
        }
        try optimizer.submit(handle, gradient: gradient)
    }

    public func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.step(handle, weight: &weight, submitted: .gradient(gradient))
    }

    /// dY sample-major, as the optimizer's observation reads it: formed from the channel-major
    /// gradient with `channelMajorOutput` (only on steps that use it), else as backward got it.
    func observedGradient() -> Matrix<Scalar> {
        guard channelMajorOutput else { return outputGradient }
        ensureShape(&outputGradient, input.rows, outputLength)
        transpose(channelMajorGradient, into: &outputGradient, toSampleMajor: true, batch: input.rows)
        return outputGradient
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
        sampleGradients.release()
        if !channelMajorOutput { outputGradient = Matrix(rows: 0, columns: 0) }
        channelMajorGradient = Matrix(rows: 0, columns: 0)
    }
}
