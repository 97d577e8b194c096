import NGPlus

/// A convolution a sample at a time (`PooledConv2d`, and `Conv2d` where it is faster than one
/// GEMM over the batch's patches), one kernel a pass, reached through `NetworkScalar` so that
/// the loop over samples runs compiled for its scalar. A sample's patches Ũᵢ ((K + 1) × P, the
/// last row ones) live in a thread's scratch (`SampleConvolutionScratch`) only while that sample
/// is worked on, so they stay in cache: the batch's patches are never written to memory. Where a
/// sample has few positions, a tile of samples (`SampleConvolutionScratch.tile`) is unfolded
/// side by side and each product covers all of them.
///
/// Sample i's full-resolution output Yᵢ (c_out × P) is either written where `layout` says, or,
/// with `argmax`, formed in the scratch and pooled (rectified 2×2 max pooling) into row i of a
/// sample-major output, `argmax` getting each maximum's offset within Yᵢ (−1 where the output
/// is 0).
extension NetworkKernels {
    /// Forward, a tile of samples at a time (one sample with `argmax`): unfold, `Y = W̃·Ũ` (a
    /// tile product over the tile's positions side by side), and with `argmax` the pooling of
    /// Yᵢ's planes. A sample-major output is copied out of the scratch, a sample's channels at a
    /// time; a channel-major one, whose samples' positions are adjacent, is written in place (as
    /// is a sample-major one of one channel, a single row whose leading dimension need only be
    /// as long as the tile's for BLAS to take it).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func sampleConvolution<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, geometry g: ConvGeometry, weight w: UnsafePointer<Scalar>,
        outChannels c: Int, layout: SampleConvolutionLayout, scratch: UnsafeMutablePointer<Scalar>, slots: Int,
        into y: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        let (k, p) = (g.patchSize, g.positions)
        let parts = SampleConvolutionScratch(geometry: g, outChannels: c)
        let (tile, ldu) = (argmax == nil ? parts.tile : 1, parts.tile * p)
        let inPlace = layout.sampleOffset == p || tile == 1
        // The threads share whole tiles: a tile's samples, and so the products' shapes and bits,
        // do not depend on the thread count.
        let tiles = (batch + tile - 1) / tile
        ParallelLoop.forEachNumberedChunk(tiles, minimumChunk: 1, maximumChunks: slots) { slot, chunk in
            let (u, plane) = (scratch + slot * parts.length, scratch + slot * parts.length + parts.plane)
            for first in stride(from: chunk.lowerBound * tile, to: Swift.min(batch, chunk.upperBound * tile), by: tile) {
                let count = Swift.min(tile, batch - first)
                let columns = count * p
                g.unfold(x + first * g.inputLength, batch: count, sampleStride: g.inputLength, into: u, ld: ldu)
                let (target, ld) = argmax == nil && inPlace
                    ? (y + first * layout.sampleOffset, Swift.max(layout.leadingDimension, columns)) : (plane, columns)
                Scalar.tileProduct(
                    rows: c, columns: columns, inner: 0..<(k + 1), a: w, rowStride: k + 1, innerStride: 1, b: u,
                    ldb: ldu, alpha: 1, beta: 0, into: target, ldc: ld)
                if let argmax {
                    pool(plane, sample: first, geometry: g, outChannels: c, into: y, argmax: argmax)
                } else if !inPlace {
                    copyPlanes(
                        plane, strides: (p, columns), samples: count, channels: c, positions: p, into: y + first * c * p,
                        strides: (c * p, p))
                }
            }
        }
    }

    /// Copies `count` samples' c_out planes of P values between two layouts, each given by the
    /// offsets from one sample to the next and from one channel to the next: a tile in the
    /// scratch, `(P, count·P)`, and the samples' rows of a sample-major matrix, `(c_out·P, P)`.
    @inline(__always)
    static func copyPlanes<Scalar: NetworkScalar>(
        _ source: UnsafePointer<Scalar>, strides from: (sample: Int, channel: Int), samples count: Int, channels c: Int,
        positions p: Int, into target: UnsafeMutablePointer<Scalar>, strides to: (sample: Int, channel: Int)
    ) {
        for j in 0..<count {
            for o in 0..<c {
                (target + j * to.sample + o * to.channel).update(from: source + j * from.sample + o * from.channel, count: p)
            }
        }
    }

    /// Backward, a tile of samples at a time (one sample with `argmax` or kept gradients): dY
    /// read where `layout` says (a sample-major tile copied into the scratch first) or, with
    /// `argmax`, the pooled gradient scattered to its maxima in the scratch; Ũ unfolded again;
    /// the weight gradient added to its group's partial sum (`SampleConvolutionScratch.transposesGradient`
    /// says how, `WeightGradientSums` where, and whether each sample's is kept too); and, when
    /// `dx` is given, `Wᵀ·dY` folded into the samples' input gradients. A pooled layer without
    /// `dx` whose product would be row products takes its weight gradient from the pooled
    /// gradient and the transposed patches alone (`pooledWeightGradient`): the CNN's first
    /// convolution, where the scatter and the row products took 12 µs a sample
    /// (docs/measurements/pooled-convolution-backward-2026-12-07.md).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func sampleConvolutionBackward<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, geometry g: ConvGeometry, weight w: UnsafePointer<Scalar>,
        outChannels c: Int, outputGradient dy: UnsafePointer<Scalar>, layout: SampleConvolutionLayout,
        argmax: UnsafePointer<Int32>?, scratch: UnsafeMutablePointer<Scalar>, slots: Int,
        sums weightGradient: WeightGradientSums<Scalar>, inputGradient dx: UnsafeMutablePointer<Scalar>?
    ) {
        let (k, p, pooled) = (g.patchSize, g.positions, c * g.positions / 4)
        let windows = PoolingLayout(channels: c, height: g.outHeight, width: g.outWidth, channelMajorBatch: nil)
        let parts = SampleConvolutionScratch(geometry: g, outChannels: c)
        let (tile, ldu) = (argmax == nil && weightGradient.samples == nil ? parts.tile : 1, parts.tile * p)
        let inPlace = layout.sampleOffset == p || tile == 1
        let groupSize = weightGradient.groupSize
        let (n, groups) = (c * (k + 1), (batch + groupSize - 1) / groupSize)
        ParallelLoop.forEachNumberedChunk(groups, minimumChunk: 1, maximumChunks: slots) { slot, chunk in
            let base = scratch + slot * parts.length
            let (u, plane, work, du) = (base, base + parts.plane, base + parts.weightGradient, base + parts.patchGradient)
            for group in chunk {
                let (sums, start) = (weightGradient.partials + group * n, group * groupSize)
                if !parts.transposesGradient { sums.update(repeating: 0, count: n) }
                // A tile never straddles two groups: the tile divides the group size.
                for first in stride(from: start, to: Swift.min(batch, start + groupSize), by: tile) {
                    let count = Swift.min(tile, batch - first)
                    let columns = count * p
                    if let argmax, dx == nil, !parts.transposesGradient {
                        g.unfold(x + first * g.inputLength, batch: 1, sampleStride: g.inputLength, into: u, ld: ldu)
                        Scalar.transpose(u, rows: k + 1, columns: p, leadingDimension: ldu, into: du)
                        Scalar.pooledWeightGradient(
                            dy + first * pooled, argmax: argmax + first * pooled, channels: c, positions: p,
                            patches: du, rows: k + 1, into: work)
                        guard let (kept, keptLD) = weightGradient.kept(sample: first, batch: batch, outChannels: c) else {
                            for e in 0..<n { sums[e] += work[e] }
                            continue
                        }
                        for o in 0..<c {
                            for r in 0...k { kept[r * keptLD + o] = work[o * (k + 1) + r] }
                        }
                        WeightGradientSums.add(
                            kept, ld: keptLD, rows: k + 1, outChannels: c, into: sums, transposed: false, overwrite: false)
                        continue
                    }
                    let (dyt, ld): (UnsafePointer<Scalar>, Int)
                    if let argmax {
                        NetworkKernels.maxPoolBackward(
                            dy + first * pooled, argmax: argmax + first * pooled, windows, samples: 0..<1, into: plane)
                        (dyt, ld) = (UnsafePointer(plane), p)
                    } else if inPlace {
                        (dyt, ld) = (dy + first * layout.sampleOffset, Swift.max(layout.leadingDimension, columns))
                    } else {
                        copyPlanes(
                            dy + first * c * p, strides: (c * p, p), samples: count, channels: c, positions: p, into: plane,
                            strides: (p, columns))
                        (dyt, ld) = (UnsafePointer(plane), columns)
                    }
                    g.unfold(x + first * g.inputLength, batch: count, sampleStride: g.inputLength, into: u, ld: ldu)
                    if let (kept, keptLD) = weightGradient.kept(sample: first, batch: batch, outChannels: c) {
                        // One sample: its dW̃ᵢᵀ into its columns, then into the group's sum.
                        if parts.transposesGradient {
                            Scalar.transpose(dyt, rows: c, columns: columns, leadingDimension: ld, into: work)
                            Scalar.tileProduct(
                                rows: k + 1, columns: c, inner: 0..<columns, a: u, rowStride: ldu, innerStride: 1,
                                b: work, ldb: c, alpha: 1, beta: 0, into: kept, ldc: keptLD)
                        } else {
                            Scalar.rowProducts(
                                m: k + 1, n: c, length: columns, a: u, lda: ldu, b: dyt, ldb: ld, into: kept,
                                ldc: keptLD)
                        }
                        WeightGradientSums.add(
                            kept, ld: keptLD, rows: k + 1, outChannels: c, into: sums,
                            transposed: parts.transposesGradient, overwrite: first == start)
                    } else if parts.transposesGradient {
                        Scalar.transpose(dyt, rows: c, columns: columns, leadingDimension: ld, into: work)
                        Scalar.tileProduct(
                            rows: k + 1, columns: c, inner: 0..<columns, a: u, rowStride: ldu, innerStride: 1, b: work,
                            ldb: c, alpha: 1, beta: first == start ? 0 : 1, into: sums, ldc: c)
                    } else {
                        Scalar.rowProducts(
                            m: c, n: k + 1, length: columns, a: dyt, lda: ld, b: u, ldb: ldu, into: work, ldc: k + 1)
                        for e in 0..<n { sums[e] += work[e] }
                    }
                    guard let dx else { continue }
                    // dŨ = Wᵀ·dY: A(r, o) = W[o, r], rows of W̃ K + 1 apart.
                    Scalar.tileProduct(
                        rows: k, columns: columns, inner: 0..<c, a: w, rowStride: 1, innerStride: k + 1, b: dyt, ldb: ld,
                        alpha: 1, beta: 0, into: du, ldc: columns)
                    NetworkKernels.fold(g, du, ld: columns, batch: count, sampleStride: g.inputLength, into: dx + first * g.inputLength)
                }
            }
        }
        weightGradient.addGroups(groups, transposed: parts.transposesGradient, outChannels: c, columns: k + 1)
    }

    /// The rectified 2×2 max pooling of sample i's planes (c_out of the output's height × width)
    /// into row i of the sample-major pooled output.
    @inline(__always)
    static func pool<Scalar: NetworkScalar>(
        _ plane: UnsafePointer<Scalar>, sample i: Int, geometry g: ConvGeometry, outChannels c: Int,
        into y: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>
    ) {
        let pooled = c * g.positions / 4
        let windows = PoolingLayout(channels: c, height: g.outHeight, width: g.outWidth, channelMajorBatch: nil)
        Scalar.maxPool(plane, windows, samples: 0..<1, rectify: true, into: y + i * pooled, argmax: argmax + i * pooled)
    }
}

/// Where a sample-at-a-time convolution finds sample i's full-resolution output or output
/// gradient (c_out × P) when it is not pooled: at `i·sampleOffset`, rows `leadingDimension`
/// apart — `(c·P, P)` sample-major, `(P, B·P)` channel-major.
public struct SampleConvolutionLayout: Sendable {
    public let sampleOffset: Int
    public let leadingDimension: Int

    /// Sample-major, `B × (c_out·P)`.
    public static func sampleMajor(_ g: ConvGeometry, outChannels c: Int) -> Self {
        Self(sampleOffset: c * g.positions, leadingDimension: g.positions)
    }

    /// Channel-major, `c_out × (B·P)`.
    public static func channelMajor(_ g: ConvGeometry, batch: Int) -> Self {
        Self(sampleOffset: g.positions, leadingDimension: batch * g.positions)
    }
}
