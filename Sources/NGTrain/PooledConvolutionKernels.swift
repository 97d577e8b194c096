import NGPlus

/// The passes of `PooledConv2d`, one kernel each, reached through `NetworkScalar` so that the
/// loop over samples runs compiled for its scalar. A sample's patches Ũᵢ ((K + 1) × P, the last
/// row ones) and its full-resolution output or output gradient (c_out × P) live in a thread's
/// scratch (`PooledConvolutionScratch`) only while that sample is worked on, so they stay in
/// cache: the batch's patches and full-resolution output are never written to memory.
extension NetworkKernels {
    /// Forward, per sample: unfold, `Yᵢ = W̃·Ũᵢ` (a tile product), then the rectified 2×2 max
    /// pooling of Yᵢ's planes into the sample's row of y. `argmax` gets each maximum's offset
    /// within Yᵢ (−1 where the output is 0), c_out·P/4 a sample.
    static func pooledConvolution<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, geometry g: ConvGeometry, weight w: UnsafePointer<Scalar>,
        outChannels c: Int, scratch: UnsafeMutablePointer<Scalar>, slots: Int, into y: UnsafeMutablePointer<Scalar>,
        argmax: UnsafeMutablePointer<Int32>
    ) {
        let (k, p, pooled) = (g.patchSize, g.positions, c * g.positions / 4)
        let layout = PoolingLayout(channels: c, height: g.outHeight, width: g.outWidth, channelMajorBatch: nil)
        let parts = PooledConvolutionScratch(geometry: g, outChannels: c)
        ParallelLoop.forEachNumberedChunk(batch, minimumChunk: 1, maximumChunks: slots) { slot, samples in
            let (u, plane) = (scratch + slot * parts.length, scratch + slot * parts.length + parts.plane)
            for i in samples {
                g.unfold(x + i * g.inputLength, into: u, ld: p)
                Scalar.tileProduct(
                    rows: c, columns: p, inner: 0..<(k + 1), a: w, rowStride: k + 1, innerStride: 1, b: u, ldb: p,
                    alpha: 1, beta: 0, into: plane, ldc: p)
                Scalar.maxPool(plane, layout, samples: 0..<1, rectify: true, into: y + i * pooled, argmax: argmax + i * pooled)
            }
        }
    }

    /// Backward, per sample: the pooled gradient scattered to its maxima (dYᵢ, c_out × P), Ũᵢ
    /// unfolded again, `dYᵢ·Ũᵢᵀ` added to its group's partial sum (`NetworkScalar.rowProducts`),
    /// and, when `dx` is given, `Wᵀ·dYᵢ` folded into the sample's input gradient. The samples
    /// are summed in groups of `groupSize`, each group on one thread, into `partials` (a row of
    /// c_out·(K + 1) a group), then the groups in order into `gradient` (c_out × (K + 1)): the
    /// sum does not depend on the thread count.
    static func pooledConvolutionBackward<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, geometry g: ConvGeometry, weight w: UnsafePointer<Scalar>,
        outChannels c: Int, outputGradient dy: UnsafePointer<Scalar>, argmax: UnsafePointer<Int32>,
        scratch: UnsafeMutablePointer<Scalar>, slots: Int, groupSize: Int, partials: UnsafeMutablePointer<Scalar>,
        gradient: UnsafeMutablePointer<Scalar>, inputGradient dx: UnsafeMutablePointer<Scalar>?
    ) {
        let (k, p, pooled) = (g.patchSize, g.positions, c * g.positions / 4)
        let layout = PoolingLayout(channels: c, height: g.outHeight, width: g.outWidth, channelMajorBatch: nil)
        let parts = PooledConvolutionScratch(geometry: g, outChannels: c)
        let (n, groups) = (c * (k + 1), (batch + groupSize - 1) / groupSize)
        ParallelLoop.forEachNumberedChunk(groups, minimumChunk: 1, maximumChunks: slots) { slot, chunk in
            let base = scratch + slot * parts.length
            let (u, plane, product, du) = (base, base + parts.plane, base + parts.product, base + parts.patchGradient)
            for group in chunk {
                let sums = partials + group * n
                sums.update(repeating: 0, count: n)
                for i in (group * groupSize)..<Swift.min(batch, (group + 1) * groupSize) {
                    Scalar.maxPoolBackward(dy + i * pooled, argmax: argmax + i * pooled, layout, samples: 0..<1, into: plane)
                    g.unfold(x + i * g.inputLength, into: u, ld: p)
                    Scalar.rowProducts(m: c, n: k + 1, length: p, a: plane, lda: p, b: u, ldb: p, into: product, ldc: k + 1)
                    for e in 0..<n { sums[e] += product[e] }
                    guard let dx else { continue }
                    // dŨᵢ = Wᵀ·dYᵢ: A(r, o) = W[o, r], rows of W̃ K + 1 apart.
                    Scalar.tileProduct(
                        rows: k, columns: p, inner: 0..<c, a: w, rowStride: 1, innerStride: k + 1, b: plane, ldb: p,
                        alpha: 1, beta: 0, into: du, ldc: p)
                    Scalar.fold(g, du, ld: p, batch: 1, sampleStride: g.inputLength, into: dx + i * g.inputLength)
                }
            }
        }
        gradient.update(repeating: 0, count: n)
        for group in 0..<groups {
            let sums = partials + group * n
            for e in 0..<n { gradient[e] += sums[e] }
        }
    }
}

/// Where the parts of one thread's scratch lie, in values from its start: the patches Ũᵢ
/// ((K + 1) × P, first, their last row ones), the full-resolution plane Yᵢ or dYᵢ (c_out × P),
/// the product dYᵢ·Ũᵢᵀ (c_out × (K + 1)) and the patch gradient dŨᵢ (K × P).
struct PooledConvolutionScratch {
    let plane: Int
    let product: Int
    let patchGradient: Int
    /// The values of one thread's scratch.
    let length: Int

    init(geometry: ConvGeometry, outChannels c: Int) {
        let (k, p) = (geometry.patchSize, geometry.positions)
        plane = (k + 1) * p
        product = plane + c * p
        patchGradient = product + c * (k + 1)
        length = patchGradient + k * p
    }
}
