import NGPlus

/// The scalar types of the training stack. Its few non-BLAS loops (activations, pooling) are
/// requirements whose defaults (`NetworkScalar+Kernels.swift`, `+Normalization.swift`) are
/// specialized for Float and Double, so they run compiled for the concrete type even though
/// layers are called through the `NetworkLayer` existential, where Swift never specializes
/// (measured: an unspecialized ReLU and pooling took a third of a CNN step). A conformance
/// supplies `erf` and `eˣ`; Float's also supplies the loops over them and the row-wise ones —
/// GELU, shifted exponentials, the causal softmax, layer normalization, batch normalization's
/// passes, and their gradients — from `FloatLoops`, compiled for the processor's vector level.
public protocol NetworkScalar: BLASScalar {
    /// `y = max(x, 0)`.
    static func relu(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `c = max(a + b, 0)` (see `NetworkKernels.rectifiedSum`).
    static func rectifiedSum(
        _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, into c: UnsafeMutablePointer<Self>, count: Int)
    /// `dx = y > 0 ? dy : 0`.
    static func reluBackward(
        output y: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int)
    /// col2im (see `NetworkKernels.fold`).
    static func fold(
        _ geometry: ConvGeometry, _ du: UnsafeMutablePointer<Self>, ld: Int, batch: Int, sampleStride: Int,
        into dx: UnsafeMutablePointer<Self>)
    /// 2×2 max pooling of samples `samples` (see `NetworkKernels.maxPool`).
    static func maxPool(
        _ x: UnsafePointer<Self>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>)
    /// The gradient of `maxPool` (see `NetworkKernels.maxPoolBackward`).
    static func maxPoolBackward(
        _ dy: UnsafePointer<Self>, argmax: UnsafePointer<Int32>, _ layout: PoolingLayout, samples: Range<Int>,
        into dx: UnsafeMutablePointer<Self>)
    /// GELU (see `NetworkKernels.gelu`).
    static func gelu(
        _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, cumulative: UnsafeMutablePointer<Self>, count: Int)
    /// The gradient of GELU (see `NetworkKernels.geluBackward`).
    static func geluBackward(
        input x: UnsafePointer<Self>, cumulative: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>,
        into dx: UnsafeMutablePointer<Self>, count: Int)
    /// Layer normalization (see `NetworkKernels.layerNorm`).
    static func layerNorm(
        _ x: UnsafePointer<Self>, rows: Int, width: Int, gain: UnsafePointer<Self>, bias: UnsafePointer<Self>,
        epsilon: Self, into y: UnsafeMutablePointer<Self>, means: UnsafeMutablePointer<Self>,
        inverseDeviation: UnsafeMutablePointer<Self>)
    /// The gradients of layer normalization (see `NetworkKernels.layerNormBackward`).
    static func layerNormBackward(
        _ dy: UnsafePointer<Self>, input x: UnsafePointer<Self>, means: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, rows: Int, width: Int, gain: UnsafePointer<Self>,
        into dx: UnsafeMutablePointer<Self>, gainGradient: UnsafeMutablePointer<Self>,
        biasGradient: UnsafeMutablePointer<Self>)
    /// Token ids checked and their table rows copied (see `NetworkKernels.embeddingLookup`).
    static func embeddingLookup(
        _ ids: UnsafePointer<Self>, rows: Int, table: UnsafePointer<Self>, vocabulary: Int, width: Int,
        lookups: UnsafeMutableBufferPointer<Int>, into y: UnsafeMutablePointer<Self>) -> Int?
    /// Bags of ids checked and their table rows summed (see `NetworkKernels.embeddingBag`).
    static func embeddingBag(
        _ ids: UnsafePointer<Self>, rows: Int, bag: Int, table: UnsafePointer<Self>, vocabulary: Int, width: Int,
        scale: Self, lookups: UnsafeMutableBufferPointer<Int>, into y: UnsafeMutablePointer<Self>) -> Int?
    /// Each lookup's output gradient from its bag's (see `NetworkKernels.spreadBagGradients`).
    static func spreadBagGradients(
        _ dy: UnsafePointer<Self>, rows: Int, bag: Int, width: Int, scale: Self, into g: UnsafeMutablePointer<Self>)
    /// The dot products of every pair of a row's vectors (see `NetworkKernels.pairwiseDots`).
    static func pairwiseDots(
        _ stacked: UnsafePointer<Self>, rows: Int, vectors: Int, width: Int, into z: UnsafeMutablePointer<Self>,
        stride: Int, offset: Int)
    /// Their gradient (see `NetworkKernels.pairwiseDotsBackward`).
    static func pairwiseDotsBackward(
        _ stacked: UnsafePointer<Self>, outputGradient dz: UnsafePointer<Self>, rows: Int, vectors: Int, width: Int,
        stride: Int, offset: Int, into dStacked: UnsafeMutablePointer<Self>)
    /// SchNet's activation and its derivative (see `NetworkKernels.shiftedSoftplus`).
    static func shiftedSoftplus(
        _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, sigmoid s: UnsafeMutablePointer<Self>, count: Int)
    /// Its gradient (see `NetworkKernels.shiftedSoftplusBackward`).
    static func shiftedSoftplusBackward(
        _ dy: UnsafePointer<Self>, sigmoid s: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int)
    /// Pair distances, radial basis and cutoff (see `NetworkKernels.pairBasis`).
    static func pairBasis(
        _ atomRows: UnsafePointer<Self>, molecules: Int, atoms: Int, centers: Int, cutoff: Self, gamma: Self,
        into basis: UnsafeMutablePointer<Self>, envelope: UnsafeMutablePointer<Self>)
    /// The continuous-filter convolution (see `NetworkKernels.filterConvolution`).
    static func filterConvolution(
        _ h: UnsafePointer<Self>, filters w: UnsafePointer<Self>, envelope c: UnsafePointer<Self>, molecules: Int,
        atoms: Int, width: Int, into m: UnsafeMutablePointer<Self>)
    /// Its gradients (see `NetworkKernels.filterConvolutionBackward`).
    static func filterConvolutionBackward(
        _ h: UnsafePointer<Self>, filters w: UnsafePointer<Self>, envelope c: UnsafePointer<Self>,
        outputGradient dm: UnsafePointer<Self>, molecules: Int, atoms: Int, width: Int,
        into dh: UnsafeMutablePointer<Self>, filterGradient dw: UnsafeMutablePointer<Self>)
    /// Each molecule's mean atom row (see `NetworkKernels.atomMean`).
    static func atomMean(
        _ x: UnsafePointer<Self>, molecules: Int, atoms: Int, width: Int, into y: UnsafeMutablePointer<Self>)
    /// Its gradient (see `NetworkKernels.atomMeanBackward`).
    static func atomMeanBackward(
        _ dy: UnsafePointer<Self>, molecules: Int, atoms: Int, width: Int, into dx: UnsafeMutablePointer<Self>)
    /// Causal attention's forward pass (see `NetworkKernels.causalAttention`).
    static func causalAttention(
        _ x: UnsafePointer<Self>, sequences: Int, length: Int, heads: Int, width: Int, rowBlock: Int,
        probabilities: UnsafeMutablePointer<Self>, transposed: UnsafeMutablePointer<Self>, slots: Int,
        into output: UnsafeMutablePointer<Self>)
    /// Its backward pass (see `NetworkKernels.causalAttentionBackward`).
    static func causalAttentionBackward(
        _ x: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>, probabilities: UnsafePointer<Self>,
        scoreGradients: UnsafeMutablePointer<Self>, transposed: UnsafeMutablePointer<Self>, slots: Int, sequences: Int,
        length: Int, heads: Int, width: Int, rowBlock: Int, into dx: UnsafeMutablePointer<Self>)
    /// A convolution a sample at a time, pooled or not (see `NetworkKernels.sampleConvolution`).
    static func sampleConvolution(
        _ x: UnsafePointer<Self>, batch: Int, geometry: ConvGeometry, weight: UnsafePointer<Self>, outChannels: Int,
        layout: SampleConvolutionLayout, scratch: UnsafeMutablePointer<Self>, slots: Int,
        into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>?)
    /// Its gradients (see `NetworkKernels.sampleConvolutionBackward`).
    static func sampleConvolutionBackward(
        _ x: UnsafePointer<Self>, batch: Int, geometry: ConvGeometry, weight: UnsafePointer<Self>, outChannels: Int,
        outputGradient dy: UnsafePointer<Self>, layout: SampleConvolutionLayout, argmax: UnsafePointer<Int32>?,
        scratch: UnsafeMutablePointer<Self>, slots: Int, sums: WeightGradientSums<Self>,
        inputGradient dx: UnsafeMutablePointer<Self>?)
    /// A "same" convolution at stride 1 a sample at a time without im2col (see
    /// `NetworkKernels.directConvolution`).
    static func directConvolution(
        _ x: UnsafePointer<Self>, batch: Int, direct: DirectConvolutionLayout, weight: UnsafePointer<Self>,
        layout: SampleConvolutionLayout, scratch: UnsafeMutablePointer<Self>, slots: Int, into y: UnsafeMutablePointer<Self>,
        argmax: UnsafeMutablePointer<Int32>?)
    /// Its gradients (see `NetworkKernels.directConvolutionBackward`).
    static func directConvolutionBackward(
        _ x: UnsafePointer<Self>, batch: Int, direct: DirectConvolutionLayout, weight: UnsafePointer<Self>,
        turned: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>, layout: SampleConvolutionLayout,
        argmax: UnsafePointer<Int32>?,
        scratch: UnsafeMutablePointer<Self>, slots: Int, sums: WeightGradientSums<Self>,
        inputGradient dx: UnsafeMutablePointer<Self>?)
    /// Batch normalization (see `NetworkKernels.batchNorm`).
    static func batchNorm(
        _ x: UnsafePointer<Self>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Self>,
        bias: UnsafePointer<Self>, epsilon: Self, batchStatistics: Bool, rectify: Bool, mean: UnsafeMutablePointer<Self>,
        variance: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>,
        inverseDeviation: UnsafeMutablePointer<Self>, workspace: UnsafeMutablePointer<Self>)
    /// Its gradients (see `NetworkKernels.batchNormBackward`).
    static func batchNormBackward(
        _ dy: UnsafePointer<Self>, input x: UnsafePointer<Self>, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Self>,
        batchStatistics: Bool, rectifiedOutput: UnsafePointer<Self>?, into dx: UnsafeMutablePointer<Self>,
        gainGradient: UnsafeMutablePointer<Self>, biasGradient: UnsafeMutablePointer<Self>,
        workspace: UnsafeMutablePointer<Self>)
    /// Batch normalization's per-sample moments (see `NetworkKernels.batchNormMoments`).
    static func batchNormMoments(
        _ x: UnsafePointer<Self>, rows: Range<Int>, channels: Int, positions: Int, into moments: UnsafeMutablePointer<Self>)
    /// Its normalization pass (see `NetworkKernels.batchNormApply`).
    static func batchNormApply(
        _ x: UnsafePointer<Self>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, gain: UnsafePointer<Self>, bias: UnsafePointer<Self>, rectify: Bool,
        into y: UnsafeMutablePointer<Self>)
    /// Its gradient's per-sample sums (see `NetworkKernels.batchNormGradientSums`).
    static func batchNormGradientSums(
        _ dy: UnsafePointer<Self>, rectifiedOutput: UnsafePointer<Self>?, input x: UnsafePointer<Self>,
        rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, sums: UnsafeMutablePointer<Self>)
    /// Its gradient's second pass (see `NetworkKernels.batchNormGradientApply`).
    static func batchNormGradientApply(
        input x: UnsafePointer<Self>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, scale: UnsafePointer<Self>, meanGradient: UnsafePointer<Self>,
        meanWeighted: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>)
    /// Batch normalization's channel sums (see `NetworkKernels.batchNormSums`).
    static func batchNormSums(
        _ x: UnsafePointer<Self>, rows: Int, channels: Int, positions: Int, center: UnsafePointer<Self>?,
        into sums: UnsafeMutablePointer<Self>)
    /// The batch statistics' part of its input gradient (see `NetworkKernels.batchNormStatisticsGradient`).
    static func batchNormStatisticsGradient(
        input x: UnsafePointer<Self>, mean: UnsafePointer<Self>, inverseDeviation: UnsafePointer<Self>, rows: Int,
        channels: Int, positions: Int, gain: UnsafePointer<Self>, meanGradient: UnsafePointer<Self>,
        meanWeighted: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>)
    /// Global average pooling (see `NetworkKernels.averagePool`).
    static func averagePool(_ x: UnsafePointer<Self>, planes: Int, positions: Int, into y: UnsafeMutablePointer<Self>)
    /// Its gradient (see `NetworkKernels.averagePoolBackward`).
    static func averagePoolBackward(
        _ dy: UnsafePointer<Self>, planes: Int, positions: Int, into dx: UnsafeMutablePointer<Self>)
    /// The causal row softmax of a block of rows, in place (see `NetworkKernels.causalSoftmax`).
    static func causalSoftmax(
        _ scores: UnsafeMutablePointer<Self>, rows: Int, firstRow: Int, size: Int, leadingDimension: Int)
    /// Its gradient, in place (see `NetworkKernels.causalSoftmaxBackward`).
    static func causalSoftmaxBackward(
        _ probabilities: UnsafePointer<Self>, _ gradient: UnsafeMutablePointer<Self>, rows: Int, firstRow: Int,
        size: Int, leadingDimension: Int)
    /// The products of long rows on the calling thread, `C = A·Bᵀ` overwritten (see
    /// `FloatLoops.rowProducts`).
    static func rowProducts(
        m: Int, n: Int, length: Int, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        into c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Softmax cross-entropy summed over rows, its mean's gradient written (see
    /// `NetworkKernels.softmaxCrossEntropy`).
    static func softmaxCrossEntropy(
        _ logits: UnsafePointer<Self>, rows: Int, classes: Int, leadingDimension: Int, labels: UnsafeBufferPointer<Int>,
        into gradient: UnsafeMutablePointer<Self>) -> Double
    /// `y = e^(x − shift)` elementwise; `y` may be `x`.
    static func shiftedExponentials(
        _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int, shift: Self)
    /// `erf(x)`.
    static func errorFunction(_ x: Self) -> Self
    /// `eˣ`.
    static func exponential(_ x: Self) -> Self
}

/// The generic loops behind `NetworkScalar`.
public enum NetworkKernels {
    /// col2im, the adjoint of `ConvGeometry.unfold` over a batch: writes the gradients `dx` of
    /// `batch` samples (`inputLength` values each, `sampleStride` apart) from their patch
    /// gradients `du` (`patchSize` rows, sample i at columns `i·positions…`, leading dimension
    /// `ld`), summing every patch entry into the pixel it was read from. Loops run patch row,
    /// then sample, so `du` is read row after row; the valid columns of each row are found
    /// once, so the inner loop is a contiguous, vectorized sum — with stride 1 and an output
    /// as wide as the input, one sum over a sample's whole patch row (`foldShifted`), which
    /// zeroes the row's entries that were read from the padding: `du` is a workspace.
    @inlinable
    public static func fold<Scalar: BLASScalar>(
        _ g: ConvGeometry, _ du: UnsafeMutablePointer<Scalar>, ld: Int, batch: Int, sampleStride: Int,
        into dx: UnsafeMutablePointer<Scalar>
    ) {
        let plane = g.height * g.width
        for sample in 0..<batch { (dx + sample * sampleStride).update(repeating: 0, count: g.inputLength) }
        for c in 0..<g.inChannels {
            for r in 0..<g.kernelHeight {
                let rows = g.validOutputRange(kernelOffset: r, extent: g.height, outputs: g.outHeight)
                for s in 0..<g.kernelWidth {
                    let patchRow = du + ((c * g.kernelHeight + r) * g.kernelWidth + s) * ld
                    let columns = g.validOutputRange(kernelOffset: s, extent: g.width, outputs: g.outWidth)
                    for sample in 0..<batch {
                        let channel = dx + sample * sampleStride + c * plane
                        let row = patchRow + sample * g.positions
                        if g.stride == 1 && g.outWidth == g.width {
                            foldShifted(
                                row, by: (r - g.padding) * g.width + s - g.padding, rows: rows, columns: columns,
                                width: g.width, into: channel)
                            continue
                        }
                        for oy in rows {
                            let line = channel + (oy * g.stride + r - g.padding) * g.width + s - g.padding
                            let source = row + oy * g.outWidth
                            if g.stride == 1 {
                                for ox in columns { line[ox] += source[ox] }
                            } else {
                                for ox in columns { line[ox * g.stride] += source[ox] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `ElementwiseKernels.unfoldShifted`: `plane[j + shift] += row[j]` at the
    /// valid output rows and columns, as one AXPY of α = 1 (the same rounding as the sum, at the
    /// BLAS's vector width) from the first valid value to the last. The entries between them
    /// at invalid columns (read from the padding, which takes no gradient) are zeroed first, a
    /// column at a time (a kernel's few), so that where the sum runs across a row's end it adds 0.
    @inlinable @inline(__always)
    static func foldShifted<Scalar: BLASScalar>(
        _ row: UnsafeMutablePointer<Scalar>, by shift: Int, rows: Range<Int>, columns: Range<Int>, width: Int,
        into plane: UnsafeMutablePointer<Scalar>
    ) {
        guard !rows.isEmpty, !columns.isEmpty else { return }
        for ox in 0..<width where !columns.contains(ox) {
            for oy in rows { row[oy * width + ox] = 0 }
        }
        let first = rows.lowerBound * width + columns.lowerBound
        let end = (rows.upperBound - 1) * width + columns.upperBound
        Scalar.axpy(n: end - first, alpha: 1, x: row + first, incx: 1, y: plane + shift + first, incy: 1)
    }

    @inlinable
    public static func relu<Scalar: BLASScalar>(_ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count: Int) {
        for e in 0..<count { y[e] = Swift.max(x[e], 0) }
    }

    /// `c = max(a + b, 0)`: a residual connection's sum and the ReLU after it in one pass, the
    /// bits of the sum `a − (−1)·b` (`ElementwiseKernels.scaledUpdate`) then `relu`.
    @inlinable
    public static func rectifiedSum<Scalar: BLASScalar>(
        _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        for e in 0..<count { c[e] = Swift.max(a[e] + b[e], 0) }
    }

    /// `dx = y > 0 ? dy : 0`. Both values are loaded unconditionally so that the choice is a
    /// select the compiler vectorizes, not a branch (a ReLU's sign pattern is unpredictable:
    /// the branchy loop cost 7% of an MLP training run).
    @inlinable
    public static func reluBackward<Scalar: BLASScalar>(
        output y: UnsafePointer<Scalar>, outputGradient dy: UnsafePointer<Scalar>,
        into dx: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        for e in 0..<count {
            let (value, gradient) = (y[e], dy[e])
            dx[e] = value > 0 ? gradient : 0
        }
    }

    /// 2×2 max pooling of the planes of `samples`: each (sample, channel) plane of
    /// `height × width` inputs, found where `layout` says, gives a plane of a sample-major
    /// output. `argmax` holds the offset of each maximum within the whole input (the first of
    /// equal values, in the order top-left, top-right, bottom-left, bottom-right). With
    /// `rectify` an output whose maximum is not positive is 0 and its argmax −1: it passes no
    /// gradient.
    @inlinable
    public static func maxPool<Scalar: BLASScalar>(
        _ x: UnsafePointer<Scalar>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>
    ) {
        let (height, width) = (layout.height, layout.width)
        let (oh, ow) = (height / 2, width / 2)
        for sample in samples {
            for channel in 0..<layout.channels {
                let input = layout.inputPlane(sample: sample, channel: channel) * height * width
                let output = (sample * layout.channels + channel) * oh * ow
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let top = input + 2 * oy * width + 2 * ox
                        var best = top
                        var value = x[top]
                        if x[top + 1] > value { best = top + 1; value = x[top + 1] }
                        if x[top + width] > value { best = top + width; value = x[top + width] }
                        if x[top + width + 1] > value { best = top + width + 1; value = x[top + width + 1] }
                        let passes = !rectify || value > 0
                        y[output + oy * ow + ox] = passes ? value : 0
                        argmax[output + oy * ow + ox] = passes ? Int32(truncatingIfNeeded: best) : -1
                    }
                }
            }
        }
    }

    /// The gradient of `maxPool` for `samples`, plane by plane: the plane's input gradient is
    /// zeroed (a few KB, so it stays in L1), then each window's output gradient goes to its
    /// maximum, if it has one — one pass over the input gradient.
    @inlinable
    public static func maxPoolBackward<Scalar: BLASScalar>(
        _ dy: UnsafePointer<Scalar>, argmax: UnsafePointer<Int32>, _ layout: PoolingLayout, samples: Range<Int>,
        into dx: UnsafeMutablePointer<Scalar>
    ) {
        let (height, width) = (layout.height, layout.width)
        let windows = (height / 2) * (width / 2)
        for sample in samples {
            for channel in 0..<layout.channels {
                (dx + layout.inputPlane(sample: sample, channel: channel) * height * width)
                    .update(repeating: 0, count: height * width)
                let output = (sample * layout.channels + channel) * windows
                for o in output..<output + windows where argmax[o] >= 0 {
                    dx[Int(argmax[o])] = dy[o]
                }
            }
        }
    }
}
