import NGPlus

/// The scalar types of the training stack: a conformance supplies `erf` and `eˣ` and the loops
/// that one scalar runs its own way. Float's — GELU, the shifted softplus, shifted exponentials, the loss, max
/// pooling, the causal softmax, layer normalization, batch normalization's passes, and their
/// gradients — come from `FloatLoops`, compiled for the processor's vector level; Double's are
/// the generic code of `NetworkKernels`. Every other loop is a `NetworkKernels` function
/// specialized for Float and Double (`@_specialize`), which a layer's unspecialized code enters
/// at its generic entry point and leaves at once for the body compiled for its scalar (layers
/// are called through the `NetworkLayer` existential, where Swift never specializes; measured:
/// an unspecialized ReLU and pooling took a third of a CNN step).
public protocol NetworkScalar: BLASScalar {
    /// 2×2 max pooling of samples `samples` (see `NetworkKernels.maxPool`).
    static func maxPool(
        _ x: UnsafePointer<Self>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>)
    /// Rectified 2×2 max pooling of one sample's output laid out by position (see
    /// `NetworkKernels.maxPoolPositions`).
    static func maxPoolPositions(
        _ yt: UnsafePointer<Self>, channels: Int, height: Int, width: Int, into y: UnsafeMutablePointer<Self>,
        argmax: UnsafeMutablePointer<Int32>)
    /// One sample's weight gradient of a convolution followed by rectified 2×2 max pooling,
    /// from the pooled gradient (see `NetworkKernels.pooledWeightGradient`).
    static func pooledWeightGradient(
        _ dy: UnsafePointer<Self>, argmax: UnsafePointer<Int32>, channels: Int, positions: Int,
        patches: UnsafePointer<Self>, rows: Int, into work: UnsafeMutablePointer<Self>)
    /// SchNet's radial basis of pair distances (see `NetworkKernels.gaussianBasis`).
    static func gaussianBasis(
        _ distances: UnsafePointer<Self>, pairs: Int, centers: Int, spacing: Self, gamma: Self,
        into basis: UnsafeMutablePointer<Self>)
    /// SchNet's shifted softplus and its derivative (see `NetworkKernels.shiftedSoftplus`).
    static func shiftedSoftplus(
        _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, sigmoid: UnsafeMutablePointer<Self>, count: Int)
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
    /// `Int(x)` for a whole number `x` the caller checked, compiled for the scalar (in generic
    /// code the conversion is the standard library's exact one, bit by bit).
    static func wholeNumber(_ x: Self) -> Int
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
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
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
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func relu<Scalar: BLASScalar>(_ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count: Int) {
        for e in 0..<count { y[e] = Swift.max(x[e], 0) }
    }

    /// `c = max(a + b, 0)`: a residual connection's sum and the ReLU after it in one pass, the
    /// bits of the sum `a − (−1)·b` (`ElementwiseKernels.scaledUpdate`) then `relu`.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func rectifiedSum<Scalar: BLASScalar>(
        _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        for e in 0..<count { c[e] = Swift.max(a[e] + b[e], 0) }
    }

    /// `dx = y > 0 ? dy : 0`. Both values are loaded unconditionally so that the choice is a
    /// select the compiler vectorizes, not a branch (a ReLU's sign pattern is unpredictable:
    /// the branchy loop cost 7% of an MLP training run).
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
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

    /// Rectified 2×2 max pooling of one sample's output laid out by position — `yt` holds
    /// height·width rows of `channels` values, as a convolution computed with its positions as
    /// rows leaves it — into the sample's pooled planes: channel o's height/2 · width/2 windows
    /// at `y + o·height·width/4`, with `argmax` the maximum's offset o·height·width + position
    /// in the sample's channel-major output (the first of equal values, in the order top-left,
    /// top-right, bottom-left, bottom-right), or −1 where the maximum is not positive and the
    /// output 0. Double's loop; Float's is `FloatLoops.maxPoolPositions`.
    @inlinable
    public static func maxPoolPositions<Scalar: BLASScalar>(
        _ yt: UnsafePointer<Scalar>, channels: Int, height: Int, width: Int, into y: UnsafeMutablePointer<Scalar>,
        argmax: UnsafeMutablePointer<Int32>
    ) {
        let (positions, ow) = (height * width, width / 2)
        for o in 0..<channels {
            for oy in 0..<height / 2 {
                for ox in 0..<ow {
                    let top = 2 * oy * width + 2 * ox
                    var (best, value) = (top, yt[top * channels + o])
                    if yt[(top + 1) * channels + o] > value { (best, value) = (top + 1, yt[(top + 1) * channels + o]) }
                    let bottom = top + width
                    if yt[bottom * channels + o] > value { (best, value) = (bottom, yt[bottom * channels + o]) }
                    if yt[(bottom + 1) * channels + o] > value {
                        (best, value) = (bottom + 1, yt[(bottom + 1) * channels + o])
                    }
                    let (q, passes) = (o * positions / 4 + oy * ow + ox, value > 0)
                    y[q] = passes ? value : 0
                    argmax[q] = passes ? Int32(truncatingIfNeeded: o * positions + best) : -1
                }
            }
        }
    }

    /// One sample's weight gradient of a convolution followed by rectified 2×2 max pooling,
    /// from the pooled gradient alone: the full-resolution gradient is zero but at the maxima,
    /// so `work[o·rows + r] = Σ_q dy[o·w + q]·patches[(m_q − o·positions)·rows + r]` over
    /// channel o's w = positions/4 windows q that have a maximum, m_q = `argmax[o·w + q]` (an
    /// offset in the sample's channels × positions output; −1 for none). `patches` holds the sample's
    /// patches transposed, a position's `rows` values together. A quarter of the multiply-adds
    /// of the product with the full-resolution gradient, and no such gradient formed. Double's
    /// loop; Float's is `FloatLoops.pooledWeightGradient`.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func pooledWeightGradient<Scalar: BLASScalar>(
        _ dy: UnsafePointer<Scalar>, argmax: UnsafePointer<Int32>, channels: Int, positions: Int,
        patches: UnsafePointer<Scalar>, rows: Int, into work: UnsafeMutablePointer<Scalar>
    ) {
        let windows = positions / 4
        for o in 0..<channels {
            let sums = work + o * rows
            sums.update(repeating: 0, count: rows)
            for q in o * windows..<(o + 1) * windows where argmax[q] >= 0 {
                let column = patches + (Int(argmax[q]) - o * positions) * rows
                for r in 0..<rows { sums[r] += dy[q] * column[r] }
            }
        }
    }

    /// The gradient of `maxPool` for `samples`, plane by plane: the plane's input gradient is
    /// zeroed (a few KB, so it stays in L1), then each window's output gradient goes to its
    /// maximum, if it has one — one pass over the input gradient.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
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
