import NGPlus

/// A convolution a sample at a time on whole matrices, for the layers that run one (`Conv2d` by
/// sample, unpooled, and `PooledConv2d`): the passes of `NetworkKernels.sampleConvolution` with
/// the workspaces they need, allocated for the first batch and thread count seen and again only
/// when those change.
struct SampleConvolution<Scalar: NetworkScalar> {
    let geometry: ConvGeometry
    let outChannels: Int
    /// Set for a "same" convolution at stride 1 and one at stride 2 (not 1 × 1): its passes read
    /// padded planes in place instead of unfolding them (`DirectConvolutionLayout`).
    let direct: DirectConvolutionLayout?
    /// Samples whose weight gradients one thread adds up before the groups are added in order.
    static var groupSize: Int { 8 }
    /// A thread's scratch a row (`SampleConvolutionScratch`).
    var scratch = Matrix<Scalar>(rows: 0, columns: 0)
    /// A group of samples' weight gradient a row.
    var partials = Matrix<Scalar>(rows: 0, columns: 0)
    /// The kernel turned by 180° for a direct input gradient (c_out·kh·kw × c_in).
    var turned = Matrix<Scalar>(rows: 0, columns: 0)
    /// W̃ᵀ ((K + 1) × c_out) for a direct pooled forward pass.
    var transposedWeight = Matrix<Scalar>(rows: 0, columns: 0)

    /// A convolution with patches of fewer than 32 rows (an image's first convolution) unfolds
    /// them: that is cheap, and its weight gradient is made of row products
    /// (`SampleConvolutionScratch`).
    init(geometry: ConvGeometry, outChannels: Int) {
        self.geometry = geometry
        self.outChannels = outChannels
        let unfolds = geometry.patchSize + 1 < SampleConvolutionScratch.transposedProductRows
        direct = !unfolds && DirectConvolutionLayout.applies(to: geometry)
            ? DirectConvolutionLayout(geometry: geometry, outChannels: outChannels) : nil
    }

    /// `y`, shaped by the caller: the full-resolution output where `layout` says, or with
    /// `argmax` (c_out·P/4 offsets a sample) the pooled, sample-major output.
    mutating func forward(
        _ x: Matrix<Scalar>, weight: Matrix<Scalar>, layout: SampleConvolutionLayout, into y: inout Matrix<Scalar>,
        argmax: UnsafeMutablePointer<Int32>?
    ) {
        let (batch, geometry, c, direct) = (x.rows, geometry, outChannels, self.direct)
        let slots = SampleConvolutionScratch.ensure(&scratch, geometry: geometry, outChannels: c, direct: direct)
        guard batch > 0 else { return }
        if direct != nil, argmax != nil {
            ensureShape(&transposedWeight, geometry.patchSize + 1, c)
            weight.withView { w in
                transposedWeight.withMutableView { t in
                    Scalar.transpose(
                        w.base, rows: c, columns: geometry.patchSize + 1, leadingDimension: w.leadingDimension, into: t.base)
                }
            }
        }
        withViews(x, weight, mutating: &y) { x, w, y in
            scratch.withMutableView { scratch in
                if let direct {
                    transposedWeight.withView { transposedWeight in
                        NetworkKernels.directConvolution(
                            x.base, batch: batch, direct: direct, weight: w.base, transposedWeight: transposedWeight.base,
                            layout: layout, scratch: scratch.base, slots: slots, into: y.base, argmax: argmax)
                    }
                } else {
                    NetworkKernels.sampleConvolution(
                        x.base, batch: batch, geometry: geometry, weight: w.base, outChannels: c, layout: layout,
                        scratch: scratch.base, slots: slots, into: y.base, argmax: argmax)
                }
            }
        }
    }

    /// The weight gradient into `gradient` and, when `inputGradient` is not empty, the input
    /// gradient into it (both shaped by the caller), from dY where `layout` says or, with
    /// `argmax`, from the pooled gradient. When `sampleGradients` is not empty ((K + 1) ×
    /// (B·c_out), shaped by the caller) each sample's transposed weight gradient is kept there
    /// too (`WeightGradientSums`).
    mutating func backward(
        _ x: Matrix<Scalar>, weight: Matrix<Scalar>, outputGradient dy: Matrix<Scalar>, layout: SampleConvolutionLayout,
        argmax: UnsafePointer<Int32>?, gradient: inout Matrix<Scalar>, inputGradient: inout Matrix<Scalar>,
        sampleGradients: inout Matrix<Scalar>
    ) {
        let (batch, geometry, c, groupSize, direct) = (x.rows, geometry, outChannels, Self.groupSize, self.direct)
        ensureShape(&partials, Swift.max(1, (batch + groupSize - 1) / groupSize), gradient.rows * gradient.columns)
        let slots = SampleConvolutionScratch.ensure(&scratch, geometry: geometry, outChannels: c, direct: direct)
        let (computesInputGradient, keepsSamples) = (!inputGradient.isEmpty, !sampleGradients.isEmpty)
        if let direct, computesInputGradient, direct.stride == 1 {
            ensureShape(&turned, c * geometry.kernelHeight * geometry.kernelWidth, geometry.inChannels)
            weight.withView { w in turned.withMutableView { direct.turn(w.base, into: $0.base) } }
        }
        withViews(x, weight, mutating: &gradient) { x, w, gradient in
            guard batch > 0 else { return gradient.zero() }
            dy.withView { dy in
                partials.withMutableView { partials in
                    scratch.withMutableView { scratch in
                        inputGradient.withMutableView { dx in
                            sampleGradients.withMutableView { kept in
                                let dx = computesInputGradient ? dx.base : nil
                                let sums = WeightGradientSums(
                                    groupSize: groupSize, partials: partials.base, gradient: gradient.base,
                                    samples: keepsSamples ? kept.base : nil)
                                guard let direct else {
                                    return NetworkKernels.sampleConvolutionBackward(
                                        x.base, batch: batch, geometry: geometry, weight: w.base, outChannels: c,
                                        outputGradient: dy.base, layout: layout, argmax: argmax, scratch: scratch.base,
                                        slots: slots, sums: sums, inputGradient: dx)
                                }
                                turned.withView { turned in
                                    NetworkKernels.directConvolutionBackward(
                                        x.base, batch: batch, direct: direct, weight: w.base, turned: turned.base,
                                        outputGradient: dy.base, layout: layout, argmax: argmax, scratch: scratch.base,
                                        slots: slots, sums: sums, inputGradient: dx)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where the parts of one thread's scratch lie, in values from its start, for a tile of T
/// samples: the patches Ũ ((K + 1) × T·P, first, their last row ones, rows T·P apart whatever
/// the tile's samples), the full-resolution planes Y or dY (c_out × T·P), the weight gradient's
/// workspace and the patch gradient dŨ (K × T·P) — or, for a pooled layer without an input
/// gradient whose patches are unfolded, one sample's patches transposed (P × (K + 1), and 32
/// values to spare: `NetworkScalar.pooledWeightGradient`).
///
/// A sample's weight gradient is made one of two ways. With patches of at least 32 rows
/// (`transposesGradient`) it is `(dW̃ᵢ)ᵀ = Ũᵢ·dYᵢᵀ`, a tile product over the positions whose B is
/// dYᵢ transposed into the workspace (P × c_out): c_out columns, the tile's width, a row for
/// each of Ũᵢ's K + 1 rows, added into the group's sum by the product itself; measured 1.7–6×
/// as fast as the row products at 16 to 64 channels. With fewer rows (an image's first
/// convolution, K + 1 = 10) transposing dYᵢ costs more than the product, and `dYᵢ·Ũᵢᵀ` is
/// the row products of dYᵢ with Ũᵢ into the workspace (c_out × (K + 1)), then added.
///
/// A direct convolution (`DirectConvolutionLayout`) lays the same parts out for its own passes,
/// one sample at a time: the padded input planes (or phases) and a row of ones, the padded dY
/// planes or dY on the wide grid (or Y on the wide grid, or Yᵀ by position when pooled), dY's
/// wide rows transposed (the weight gradient's B; first, when pooled, dY scattered from the
/// pooled gradient) and the input gradient by position — at stride 2 W̃ᵀ·dY on the wide grid and
/// the phases it is added into.
struct SampleConvolutionScratch {
    let plane: Int
    let weightGradient: Int
    let patchGradient: Int
    /// The values of one thread's scratch.
    let length: Int
    let transposesGradient: Bool
    /// The fewest patch rows for which the transposed tile product is used.
    static var transposedProductRows: Int { 32 }
    /// The positions a tile's products fill at least, when the group allows.
    static var tileColumns: Int { 192 }
    /// Samples unfolded side by side: the fewest (a power of two, at most
    /// `SampleConvolution.groupSize`, which it divides) whose positions fill 192 columns of a
    /// product, or the group. A product's columns go 32 and then 16 at a time, so a 7 × 7 sample's
    /// 49 use 49 of 64 lanes, a tile of four's 196 use 196 of 208.
    let tile: Int

    init(geometry: ConvGeometry, outChannels c: Int, direct: DirectConvolutionLayout? = nil) {
        let (k, p) = (geometry.patchSize, geometry.positions)
        if let d = direct {
            (tile, transposesGradient) = (1, true)
            plane = geometry.inChannels * d.paddedPlane + d.wideColumns
            weightGradient = plane + c * d.paddedPlane
            patchGradient = weightGradient + d.wideColumns * c
            // The input gradient on the wide grid at stride 1; at stride 2 W̃ᵀ·dY (K rows) and the
            // phases it is added into.
            length = patchGradient + (d.stride == 1
                ? geometry.inChannels * d.wideColumns : k * d.wideColumns + geometry.inChannels * d.paddedPlane)
            return
        }
        var tile = 1
        while tile < SampleConvolution<Float>.groupSize && tile * p < Self.tileColumns { tile *= 2 }
        self.tile = tile
        transposesGradient = k + 1 >= Self.transposedProductRows
        plane = (k + 1) * tile * p
        weightGradient = plane + c * tile * p
        patchGradient = weightGradient + (transposesGradient ? tile * p * c : c * (k + 1))
        length = patchGradient + (transposesGradient ? k * tile * p : Swift.max(k * tile * p, (k + 1) * p + 32))
    }

    /// Gives `scratch` a row for each thread the passes may use (allocating only when it has
    /// fewer or shorter ones, all values 1: the patches' row of ones is never written again);
    /// returns how many threads that is.
    static func ensure<Scalar: BLASScalar>(
        _ scratch: inout Matrix<Scalar>, geometry: ConvGeometry, outChannels: Int, direct: DirectConvolutionLayout?
    ) -> Int {
        let parts = Self(geometry: geometry, outChannels: outChannels, direct: direct)
        let (slots, length) = (ParallelLoop.threadCount, parts.length)
        if scratch.rows < slots || scratch.columns != length { scratch = Matrix(rows: slots, columns: length, repeating: 1) }
        return slots
    }
}
