import NGPlus

/// A convolution a sample at a time (`PooledConv2d`, and `Conv2d` where it is faster than one
/// GEMM over the batch's patches), one kernel a pass, reached through `NetworkScalar` so that
/// the loop over samples runs compiled for its scalar. A sample's patches Ũᵢ ((K + 1) × P, the
/// last row ones) live in a thread's scratch (`SampleConvolutionScratch`) only while that sample
/// is worked on, so they stay in cache: the batch's patches are never written to memory.
///
/// Sample i's full-resolution output Yᵢ (c_out × P) is either written where `layout` says, or,
/// with `argmax`, formed in the scratch and pooled (rectified 2×2 max pooling) into row i of a
/// sample-major output, `argmax` getting each maximum's offset within Yᵢ (−1 where the output
/// is 0).
extension NetworkKernels {
    /// Forward, per sample: unfold, `Yᵢ = W̃·Ũᵢ` (a tile product), and with `argmax` the
    /// pooling of Yᵢ's planes.
    static func sampleConvolution<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, geometry g: ConvGeometry, weight w: UnsafePointer<Scalar>,
        outChannels c: Int, layout: SampleConvolutionLayout, scratch: UnsafeMutablePointer<Scalar>, slots: Int,
        into y: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        let (k, p) = (g.patchSize, g.positions)
        let parts = SampleConvolutionScratch(geometry: g, outChannels: c)
        ParallelLoop.forEachNumberedChunk(batch, minimumChunk: 1, maximumChunks: slots) { slot, samples in
            let (u, plane) = (scratch + slot * parts.length, scratch + slot * parts.length + parts.plane)
            for i in samples {
                g.unfold(x + i * g.inputLength, into: u, ld: p)
                let (target, ld) = argmax == nil ? (y + i * layout.sampleOffset, layout.leadingDimension) : (plane, p)
                Scalar.tileProduct(
                    rows: c, columns: p, inner: 0..<(k + 1), a: w, rowStride: k + 1, innerStride: 1, b: u, ldb: p,
                    alpha: 1, beta: 0, into: target, ldc: ld)
                if let argmax { pool(plane, sample: i, geometry: g, outChannels: c, into: y, argmax: argmax) }
            }
        }
    }

    /// Backward, per sample: dYᵢ read where `layout` says or, with `argmax`, the pooled
    /// gradient scattered to its maxima in the scratch; Ũᵢ unfolded again; the weight gradient
    /// added to its group's partial sum (`SampleConvolutionScratch.transposesGradient` says
    /// how); and, when `dx` is given, `Wᵀ·dYᵢ` folded into the sample's input gradient. The
    /// samples are summed in groups of `groupSize`, each group on one thread, into `partials`
    /// (a row of c_out·(K + 1) a group, in the layout of its method), then the groups in order
    /// into `gradient` (c_out × (K + 1)): the sum does not depend on the thread count.
    static func sampleConvolutionBackward<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, geometry g: ConvGeometry, weight w: UnsafePointer<Scalar>,
        outChannels c: Int, outputGradient dy: UnsafePointer<Scalar>, layout: SampleConvolutionLayout,
        argmax: UnsafePointer<Int32>?, scratch: UnsafeMutablePointer<Scalar>, slots: Int, groupSize: Int,
        partials: UnsafeMutablePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>,
        inputGradient dx: UnsafeMutablePointer<Scalar>?
    ) {
        let (k, p, pooled) = (g.patchSize, g.positions, c * g.positions / 4)
        let windows = PoolingLayout(channels: c, height: g.outHeight, width: g.outWidth, channelMajorBatch: nil)
        let parts = SampleConvolutionScratch(geometry: g, outChannels: c)
        let (n, groups) = (c * (k + 1), (batch + groupSize - 1) / groupSize)
        ParallelLoop.forEachNumberedChunk(groups, minimumChunk: 1, maximumChunks: slots) { slot, chunk in
            let base = scratch + slot * parts.length
            let (u, plane, work, du) = (base, base + parts.plane, base + parts.weightGradient, base + parts.patchGradient)
            for group in chunk {
                let (sums, first) = (partials + group * n, group * groupSize)
                if !parts.transposesGradient { sums.update(repeating: 0, count: n) }
                for i in first..<Swift.min(batch, first + groupSize) {
                    let (dyi, ld): (UnsafePointer<Scalar>, Int)
                    if let argmax {
                        Scalar.maxPoolBackward(dy + i * pooled, argmax: argmax + i * pooled, windows, samples: 0..<1, into: plane)
                        (dyi, ld) = (UnsafePointer(plane), p)
                    } else {
                        (dyi, ld) = (dy + i * layout.sampleOffset, layout.leadingDimension)
                    }
                    g.unfold(x + i * g.inputLength, into: u, ld: p)
                    if parts.transposesGradient {
                        Scalar.transpose(dyi, rows: c, columns: p, leadingDimension: ld, into: work)
                        Scalar.tileProduct(
                            rows: k + 1, columns: c, inner: 0..<p, a: u, rowStride: p, innerStride: 1, b: work, ldb: c,
                            alpha: 1, beta: i == first ? 0 : 1, into: sums, ldc: c)
                    } else {
                        Scalar.rowProducts(m: c, n: k + 1, length: p, a: dyi, lda: ld, b: u, ldb: p, into: work, ldc: k + 1)
                        for e in 0..<n { sums[e] += work[e] }
                    }
                    guard let dx else { continue }
                    // dŨᵢ = Wᵀ·dYᵢ: A(r, o) = W[o, r], rows of W̃ K + 1 apart.
                    Scalar.tileProduct(
                        rows: k, columns: p, inner: 0..<c, a: w, rowStride: 1, innerStride: k + 1, b: dyi, ldb: ld,
                        alpha: 1, beta: 0, into: du, ldc: p)
                    Scalar.fold(g, du, ld: p, batch: 1, sampleStride: g.inputLength, into: dx + i * g.inputLength)
                }
            }
        }
        gradient.update(repeating: 0, count: n)
        for group in 0..<groups {
            let sums = partials + group * n
            guard parts.transposesGradient else {
                for e in 0..<n { gradient[e] += sums[e] }
                continue
            }
            for r in 0...k {
                for o in 0..<c { gradient[o * (k + 1) + r] += sums[r * c + o] }
            }
        }
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
