import NGPlus

/// A "same" convolution at stride 1, or one at stride 2, a sample at a time without im2col
/// (`DirectConvolutionLayout`), reached through `NetworkScalar` like `sampleConvolution`, whose
/// scratch (`SampleConvolutionScratch`, direct) and groups of samples it shares. Each product is
/// a `BLASScalar.gatheredTileProduct` over the padded planes read in place.
extension NetworkKernels {
    /// Forward, per sample: its planes padded, `Y = W̃·Ũ` on the wide grid (Ũ's rows read from
    /// the padded planes, the bias's from a row of ones), then Y's rows compacted to where
    /// `layout` says; or, with `argmax` (and `transposedWeight`, W̃ᵀ), `Yᵀ = Ũᵀ·W̃ᵀ` a row for
    /// each output position — only the positions' sums, and c_out columns in whole blocks
    /// (44–46 against 50–51 µs for one sample of the CNN's second convolution, Intel, one
    /// thread, in a C program: docs/measurements/convolution-products-2026-12-07.md) — pooled
    /// from there into row i of the sample-major pooled output (`NetworkScalar.maxPoolPositions`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func directConvolution<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, direct d: DirectConvolutionLayout, weight w: UnsafePointer<Scalar>,
        transposedWeight: UnsafePointer<Scalar>, layout: SampleConvolutionLayout, scratch: UnsafeMutablePointer<Scalar>,
        slots: Int, into y: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        let (g, c, pooled) = (d.geometry, d.outChannels, d.outChannels * d.geometry.positions / 4)
        let parts = SampleConvolutionScratch(geometry: g, outChannels: c, direct: d)
        withForwardTables(d) { patchRows, weightRows, positions, transposedWeightRows in
            ParallelLoop.forEachNumberedChunk(batch, minimumChunk: 1, maximumChunks: slots) { slot, samples in
                let base = scratch + slot * parts.length
                let (padded, wide) = (base, base + parts.plane)
                padded.update(repeating: 0, count: g.inChannels * d.paddedPlane)
                for i in samples {
                    d.pad(x + i * g.inputLength, channels: g.inChannels, channelStride: g.height * g.width, into: padded)
                    guard let argmax else {
                        Scalar.gatheredTileProduct(
                            rows: c, columns: d.wideColumns, inner: 0..<(g.patchSize + 1), runs: .whole, a: w,
                            rowOffsets: weightRows, innerOffsets: .stride(1), b: padded, rowOffsets: patchRows,
                            alpha: 1, beta: 0, into: wide, ldc: d.wideColumns)
                        d.compact(
                            wide, channels: c, into: y + i * layout.sampleOffset, channelStride: layout.leadingDimension)
                        continue
                    }
                    Scalar.gatheredTileProduct(
                        rows: g.positions, columns: c, inner: 0..<(g.patchSize + 1), runs: .whole, a: padded,
                        rowOffsets: positions, innerOffsets: .table(patchRows), b: transposedWeight,
                        rowOffsets: transposedWeightRows, alpha: 1, beta: 0, into: wide, ldc: c)
                    Scalar.maxPoolPositions(
                        wide, channels: c, height: g.outHeight, width: g.outWidth, into: y + i * pooled,
                        argmax: argmax + i * pooled)
                }
            }
        }
    }

    /// The forward pass's offset tables as pointers for the duration of `body`.
    @inline(__always)
    static func withForwardTables(
        _ d: DirectConvolutionLayout,
        _ body: (UnsafePointer<Int>, UnsafePointer<Int>, UnsafePointer<Int>, UnsafePointer<Int>) -> Void
    ) {
        d.patchRows.withUnsafeBufferPointer { patchRows in
            d.weightRows.withUnsafeBufferPointer { weightRows in
                d.positions.withUnsafeBufferPointer { positions in
                    d.transposedWeightRows.withUnsafeBufferPointer { transposedWeightRows in
                        body(
                            patchRows.baseAddress!, weightRows.baseAddress!, positions.baseAddress!,
                            transposedWeightRows.baseAddress!)
                    }
                }
            }
        }
    }

    /// Backward, per sample: dYᵢ padded at stride 1, on the wide grid at stride 2 (with `argmax`,
    /// the pooled gradient first scattered to its maxima in the scratch, as
    /// `sampleConvolutionBackward` does) and its wide rows transposed; Xᵢ padded; the weight
    /// gradient `(dW̃ᵢ)ᵀ = Ũᵢ·dYᵢᵀ` over the output's rows on the wide grid (its junk columns
    /// skipped: 12% of a 14 × 14 output's sums on rows of 16) added to its group's partial sum,
    /// and kept when `sums` keeps them; and, when `dx` is given, the input
    /// gradient — at stride 1 the padded dY planes convolved with the kernel turned by 180°
    /// (`turned`, c_out·kh·kw × c_in), a row for each input position (P × c_in: no sums on the
    /// wide grid's junk columns, and c_in columns in whole blocks), then transposed into the
    /// sample's row; at stride 2 `stridedInputGradient`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func directConvolutionBackward<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, direct d: DirectConvolutionLayout, weight w: UnsafePointer<Scalar>,
        turned: UnsafePointer<Scalar>, outputGradient dy: UnsafePointer<Scalar>, layout: SampleConvolutionLayout,
        argmax: UnsafePointer<Int32>?,
        scratch: UnsafeMutablePointer<Scalar>, slots: Int, sums weightGradient: WeightGradientSums<Scalar>,
        inputGradient dx: UnsafeMutablePointer<Scalar>?
    ) {
        let (g, c, groupSize) = (d.geometry, d.outChannels, weightGradient.groupSize)
        let parts = SampleConvolutionScratch(geometry: g, outChannels: c, direct: d)
        let (n, groups, border) = (c * (g.patchSize + 1), (batch + groupSize - 1) / groupSize, g.padding)
        let (gradientInner, strided) = (c * g.kernelHeight * g.kernelWidth, d.stride != 1)
        let (pooled, windows) = (c * g.positions / 4, PoolingLayout(
            channels: c, height: g.outHeight, width: g.outWidth, channelMajorBatch: nil))
        withTables(d) { patchRows, gradientRows, turnedRows, positions, positionRows in
            ParallelLoop.forEachNumberedChunk(groups, minimumChunk: 1, maximumChunks: slots) { slot, chunk in
                let base = scratch + slot * parts.length
                let (padded, planes) = (base, base + parts.plane)
                let (work, wide) = (base + parts.weightGradient, base + parts.patchGradient)
                // dY's wide rows: in its padded planes at stride 1, on the wide grid at stride 2.
                let (gradientWide, gradientRowStride) = strided
                    ? (UnsafePointer(planes), d.wideColumns)
                    : (UnsafePointer(planes + border * d.paddedWidth + border), d.paddedPlane)
                padded.update(repeating: 0, count: g.inChannels * d.paddedPlane)
                planes.update(repeating: 0, count: c * d.paddedPlane)
                for group in chunk {
                    let (sums, first) = (weightGradient.partials + group * n, group * groupSize)
                    for i in first..<Swift.min(batch, first + groupSize) {
                        var (gradient, gradientStride) = (dy + i * layout.sampleOffset, layout.leadingDimension)
                        if let argmax {
                            NetworkKernels.maxPoolBackward(
                                dy + i * pooled, argmax: argmax + i * pooled, windows, samples: 0..<1, into: work)
                            (gradient, gradientStride) = (UnsafePointer(work), g.positions)
                        }
                        if strided {
                            d.widen(gradient, channels: c, channelStride: gradientStride, into: planes)
                        } else {
                            d.pad(gradient, channels: c, channelStride: gradientStride, into: planes)
                        }
                        d.pad(x + i * g.inputLength, channels: g.inChannels, channelStride: g.height * g.width, into: padded)
                        Scalar.transpose(
                            gradientWide, rows: c, columns: d.wideColumns, leadingDimension: gradientRowStride, into: work)
                        if let (kept, ld) = weightGradient.kept(sample: i, batch: batch, outChannels: c) {
                            Scalar.gatheredTileProduct(
                                rows: g.patchSize + 1, columns: c, inner: 0..<d.wideColumns, runs: d.outputRows,
                                a: padded, rowOffsets: patchRows, innerOffsets: .stride(1), b: work,
                                rowOffsets: positionRows, alpha: 1, beta: 0, into: kept, ldc: ld)
                            WeightGradientSums.add(
                                kept, ld: ld, rows: g.patchSize + 1, outChannels: c, into: sums, transposed: true,
                                overwrite: i == first)
                        } else {
                            Scalar.gatheredTileProduct(
                                rows: g.patchSize + 1, columns: c, inner: 0..<d.wideColumns, runs: d.outputRows,
                                a: padded, rowOffsets: patchRows, innerOffsets: .stride(1), b: work,
                                rowOffsets: positionRows, alpha: 1, beta: i == first ? 0 : 1, into: sums, ldc: c)
                        }
                        guard let dx else { continue }
                        if strided {
                            stridedInputGradient(
                                d, weight: w, gradientWide: planes, patchRows: patchRows, scratch: wide,
                                into: dx + i * g.inputLength)
                            continue
                        }
                        Scalar.gatheredTileProduct(
                            rows: g.positions, columns: g.inChannels, inner: 0..<gradientInner, runs: .whole, a: planes,
                            rowOffsets: positions, innerOffsets: .table(gradientRows!), b: turned,
                            rowOffsets: turnedRows!, alpha: 1, beta: 0, into: wide, ldc: g.inChannels)
                        Scalar.transpose(
                            wide, rows: g.positions, columns: g.inChannels, leadingDimension: g.inChannels,
                            into: dx + i * g.inputLength)
                    }
                }
            }
        }
        weightGradient.addGroups(groups, transposed: true, outChannels: c, columns: g.patchSize + 1)
    }

    /// One sample's input gradient at stride 2: `dŨ = W̃ᵀ·dY` on the wide grid (its junk columns
    /// zero, as dY's are) into `scratch`, each of its K rows added into the phase its patch row
    /// reads (the row's offset in `patchRows`: col2im on the phases, one run of `wideColumns`
    /// a row), then the phases' interiors into `dx`.
    static func stridedInputGradient<Scalar: NetworkScalar>(
        _ d: DirectConvolutionLayout, weight w: UnsafePointer<Scalar>, gradientWide: UnsafePointer<Scalar>,
        patchRows: UnsafePointer<Int>, scratch: UnsafeMutablePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let (g, columns) = (d.geometry, d.wideColumns)
        let k = g.patchSize
        let phases = scratch + k * columns
        Scalar.tileProduct(
            rows: k, columns: columns, inner: 0..<d.outChannels, a: w, rowStride: 1, innerStride: k + 1, b: gradientWide,
            ldb: columns, alpha: 1, beta: 0, into: scratch, ldc: columns)
        phases.update(repeating: 0, count: g.inChannels * d.paddedPlane)
        for row in 0..<k {
            let target = phases + patchRows[row]
            _ = Scalar.scaledUpdate(target, keep: 1, minus: -1, times: scratch + row * columns, into: target, count: columns)
        }
        d.unpad(phases, channels: g.inChannels, into: dx, channelStride: g.height * g.width)
    }

    /// The backward pass's offset tables as pointers for the duration of `body` (the input
    /// gradient's two nil at stride 2, which has none).
    @inline(__always)
    static func withTables(
        _ d: DirectConvolutionLayout,
        _ body: (
            UnsafePointer<Int>, UnsafePointer<Int>?, UnsafePointer<Int>?, UnsafePointer<Int>, UnsafePointer<Int>
        ) -> Void
    ) {
        d.patchRows.withUnsafeBufferPointer { patchRows in
            d.gradientRows.withUnsafeBufferPointer { gradientRows in
                d.turnedRows.withUnsafeBufferPointer { turnedRows in
                    d.positions.withUnsafeBufferPointer { positions in
                        d.positionRows.withUnsafeBufferPointer { positionRows in
                            body(
                                patchRows.baseAddress!, gradientRows.baseAddress, turnedRows.baseAddress,
                                positions.baseAddress!, positionRows.baseAddress!)
                        }
                    }
                }
            }
        }
    }
}
