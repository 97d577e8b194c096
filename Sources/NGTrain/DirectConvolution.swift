import NGPlus

/// Where a convolution finds its patches without unfolding them: a "same" convolution at stride
/// 1 (a kh × kw kernel with kh = kw = 2·padding + 1, the output as large as the input) or a
/// convolution at stride 2 with a kernel larger than 1 × 1. Each sample's input is copied into
/// zero-bordered planes — at stride 1 one plane a channel of (H + 2·padding) × (W + 2·padding);
/// at stride 2 the padded plane's four phases, its values at (even, even), (even, odd), (odd,
/// even) and (odd, odd) positions, each ⌈(H + 2·padding)/2⌉ × ⌈(W + 2·padding)/2⌉ — and patch
/// row (c, r, s) is then one plane read from offset (r div stride)·row + (s div stride), the
/// phase (r mod 2, s mod 2) at stride 2: output (i, j) reads padded position (stride·i + r,
/// stride·j + s). The output is computed on the planes' rows, `wideColumns` positions of which
/// the last (row − W_out) of each row are discarded — or, when it is pooled, transposed: a row
/// for each output position (P × c_out, W̃ᵀ its B), pooled from there. The weight gradient
/// reads dY on the same wide grid, its sums skipping the junk columns. The input gradient at
/// stride 1 is the convolution of dY's zero-bordered planes with the kernel turned by 180°,
/// computed transposed — a row for each input position, read from the planes at the
/// position's offset, so that no junk column is computed — and transposed into place; at
/// stride 2 each patch row of `W̃ᵀ·dY` is added, one run of `wideColumns`, into the phase it
/// came from (col2im on the phases), and the phases' interiors are the input gradient. Neither
/// pass unfolds nor folds a sample's patches (`NetworkKernels.directConvolution`).
public struct DirectConvolutionLayout: Sendable {
    let geometry: ConvGeometry
    let outChannels: Int
    /// A plane's row: W + 2·padding at stride 1, ⌈(W + 2·padding)/2⌉ at stride 2.
    let paddedWidth: Int
    /// One plane's values (a phase's, at stride 2).
    let phasePlane: Int
    /// A channel's planes: one at stride 1, four phases at stride 2.
    let paddedPlane: Int
    /// (H_out − 1)·row + W_out: the output's positions on the planes' rows, junk between rows.
    let wideColumns: Int
    /// Patch row (c, r, s) in the planes; the bias's ones after them (K + 1 offsets).
    let patchRows: [Int]
    /// Row o of W̃: o·(K + 1).
    let weightRows: [Int]
    /// At stride 1, dY's row (o, r, s) in its padded planes, for the input gradient: o·plane +
    /// r·row + s (empty at stride 2).
    let gradientRows: [Int]
    /// At stride 1, row (o, r, s) of the turned kernel (c_out·kh·kw rows of c_in; empty at
    /// stride 2).
    let turnedRows: [Int]
    /// Output position (y, x) on the planes' rows, y·row + x: where its patch starts in each
    /// patch row, for the pooled forward pass, and at stride 1 the input position's row in
    /// the padded dY planes, for the input gradient.
    let positions: [Int]
    /// Row r of W̃ᵀ ((K + 1) × c_out), for the pooled forward pass: r·c_out.
    let transposedWeightRows: [Int]
    /// Row x of dY's transpose on the wide grid (`wideColumns` rows of c_out).
    let positionRows: [Int]

    var stride: Int { geometry.stride }

    /// The output's rows on the wide grid: W_out values a row, a plane's row apart.
    var outputRows: InnerRuns { InnerRuns(length: geometry.outWidth, stride: paddedWidth) }

    /// Whether `geometry` is a "same" convolution at stride 1, or a convolution at stride 2 with a
    /// kernel larger than 1 × 1 (a 1 × 1 kernel reads one phase of four: unfolding it copies a
    /// quarter of what the phases would).
    static func applies(to geometry: ConvGeometry) -> Bool {
        if geometry.stride == 2 { return geometry.kernelHeight > 1 || geometry.kernelWidth > 1 }
        return geometry.stride == 1 && geometry.outHeight == geometry.height && geometry.outWidth == geometry.width
    }

    init(geometry g: ConvGeometry, outChannels c: Int) {
        precondition(Self.applies(to: g), "a direct convolution is a \"same\" one at stride 1, or one at stride 2")
        geometry = g
        outChannels = c
        let stride = g.stride
        let height = (g.height + 2 * g.padding + stride - 1) / stride
        paddedWidth = (g.width + 2 * g.padding + stride - 1) / stride
        phasePlane = height * paddedWidth
        paddedPlane = stride * stride * phasePlane
        wideColumns = (g.outHeight - 1) * paddedWidth + g.outWidth
        let (kh, kw, row, plane) = (g.kernelHeight, g.kernelWidth, paddedWidth, paddedPlane)
        var patchRows: [Int] = []
        for channel in 0..<g.inChannels {
            for r in 0..<kh {
                for s in 0..<kw {
                    let phase = (r % stride) * stride + s % stride
                    patchRows.append(channel * plane + phase * phasePlane + r / stride * row + s / stride)
                }
            }
        }
        self.patchRows = patchRows + [g.inChannels * plane]
        weightRows = (0..<c).map { $0 * (g.patchSize + 1) }
        var gradientRows: [Int] = []
        if stride == 1 {
            for o in 0..<c {
                for r in 0..<kh { for s in 0..<kw { gradientRows.append(o * plane + r * row + s) } }
            }
        }
        self.gradientRows = gradientRows
        turnedRows = stride == 1 ? (0..<(c * kh * kw)).map { $0 * g.inChannels } : []
        positions = (0..<g.outHeight).flatMap { y in (0..<g.outWidth).map { y * row + $0 } }
        transposedWeightRows = (0...g.patchSize).map { $0 * c }
        positionRows = (0..<wideColumns).map { $0 * c }
    }

    /// `channels` planes of H × W (`channelStride` apart) into the interiors of the padded planes
    /// (or their phases) at `padded`, whose borders the caller has zeroed.
    func pad<Scalar: BLASScalar>(
        _ source: UnsafePointer<Scalar>, channels: Int, channelStride: Int, into padded: UnsafeMutablePointer<Scalar>
    ) {
        let (height, width, border) = (geometry.height, geometry.width, geometry.padding)
        for channel in 0..<channels {
            let (input, planes) = (source + channel * channelStride, padded + channel * paddedPlane)
            if stride == 1 {
                let plane = planes + border * paddedWidth + border
                for y in 0..<height { (plane + y * paddedWidth).update(from: input + y * width, count: width) }
                continue
            }
            for y in 0..<height {
                let (even, odd) = phaseRows(planes, row: y + border)
                Self.deinterleave(input + y * width, count: width, evens: even, odds: odd)
            }
        }
    }

    /// At stride 2, the inverse of `pad`: the interiors of the phases at `phases` (`channels` of
    /// them) into planes of H × W, `channelStride` apart.
    func unpad<Scalar: BLASScalar>(
        _ phases: UnsafePointer<Scalar>, channels: Int, into target: UnsafeMutablePointer<Scalar>, channelStride: Int
    ) {
        let (height, width, border) = (geometry.height, geometry.width, geometry.padding)
        for channel in 0..<channels {
            let (planes, output) = (phases + channel * paddedPlane, target + channel * channelStride)
            for y in 0..<height {
                let (even, odd) = phaseRows(UnsafeMutablePointer(mutating: planes), row: y + border)
                Self.interleave(evens: even, odds: odd, count: width, into: output + y * width)
            }
        }
    }

    /// At stride 2, where padded row `row` of a channel's phases (at `planes`) holds the input's
    /// even columns x = 2k and its odd ones x = 2k + 1: padded column x + padding is phase
    /// column (x + padding) div 2 of the phase (x + padding) mod 2.
    @inline(__always)
    func phaseRows<Scalar>(
        _ planes: UnsafeMutablePointer<Scalar>, row: Int
    ) -> (even: UnsafeMutablePointer<Scalar>, odd: UnsafeMutablePointer<Scalar>) {
        let (border, line) = (geometry.padding, planes + (row % 2) * 2 * phasePlane + row / 2 * paddedWidth)
        return (line + (border % 2) * phasePlane + border / 2, line + (1 - border % 2) * phasePlane + (border + 1) / 2)
    }

    /// `source[2k]` into `evens[k]` and `source[2k + 1]` into `odds[k]`, sixteen values at a time.
    @inline(__always)
    static func deinterleave<Scalar: BLASScalar>(
        _ source: UnsafePointer<Scalar>, count: Int, evens: UnsafeMutablePointer<Scalar>, odds: UnsafeMutablePointer<Scalar>
    ) {
        var x = 0
        while x + 16 <= count {
            let values = UnsafeRawPointer(source + x).loadUnaligned(as: SIMD16<Scalar>.self)
            UnsafeMutableRawPointer(evens + x / 2).storeBytes(of: values.evenHalf, as: SIMD8<Scalar>.self)
            UnsafeMutableRawPointer(odds + x / 2).storeBytes(of: values.oddHalf, as: SIMD8<Scalar>.self)
            x += 16
        }
        while x < count {
            if x % 2 == 0 { evens[x / 2] = source[x] } else { odds[x / 2] = source[x] }
            x += 1
        }
    }

    /// The inverse of `deinterleave`: `evens[k]` into `target[2k]`, `odds[k]` into `target[2k + 1]`.
    @inline(__always)
    static func interleave<Scalar: BLASScalar>(
        evens: UnsafePointer<Scalar>, odds: UnsafePointer<Scalar>, count: Int, into target: UnsafeMutablePointer<Scalar>
    ) {
        var x = 0
        while x + 16 <= count {
            var values = SIMD16<Scalar>()
            values.evenHalf = UnsafeRawPointer(evens + x / 2).loadUnaligned(as: SIMD8<Scalar>.self)
            values.oddHalf = UnsafeRawPointer(odds + x / 2).loadUnaligned(as: SIMD8<Scalar>.self)
            UnsafeMutableRawPointer(target + x).storeBytes(of: values, as: SIMD16<Scalar>.self)
            x += 16
        }
        while x < count {
            target[x] = x % 2 == 0 ? evens[x / 2] : odds[x / 2]
            x += 1
        }
    }

    /// `channels` planes of H_out × W_out (`channelStride` apart) onto the wide grid, `channels`
    /// rows of `wideColumns` at `wide`, whose junk columns the caller has zeroed.
    func widen<Scalar: BLASScalar>(
        _ source: UnsafePointer<Scalar>, channels: Int, channelStride: Int, into wide: UnsafeMutablePointer<Scalar>
    ) {
        let (height, width) = (geometry.outHeight, geometry.outWidth)
        for channel in 0..<channels {
            for y in 0..<height {
                (wide + channel * wideColumns + y * paddedWidth)
                    .update(from: source + channel * channelStride + y * width, count: width)
            }
        }
    }

    /// `channels` rows of the wide grid (`wideColumns` apart) into planes of H_out × W_out
    /// (`channelStride` apart), each row's junk left behind.
    func compact<Scalar: BLASScalar>(
        _ wide: UnsafePointer<Scalar>, channels: Int, into target: UnsafeMutablePointer<Scalar>, channelStride: Int
    ) {
        let (height, width) = (geometry.outHeight, geometry.outWidth)
        for channel in 0..<channels {
            for y in 0..<height {
                (target + channel * channelStride + y * width)
                    .update(from: wide + channel * wideColumns + y * paddedWidth, count: width)
            }
        }
    }

    /// The kernel turned by 180°, for the input gradient at stride 1: row (o, r, s), column c of
    /// `turned` (c_out·kh·kw × c_in) is W̃[o, (c, kh − 1 − r, kw − 1 − s)].
    func turn<Scalar: BLASScalar>(_ w: UnsafePointer<Scalar>, into turned: UnsafeMutablePointer<Scalar>) {
        let (kh, kw, k) = (geometry.kernelHeight, geometry.kernelWidth, geometry.patchSize)
        for channel in 0..<geometry.inChannels {
            for o in 0..<outChannels {
                for r in 0..<kh {
                    for s in 0..<kw {
                        turned[turnedRows[(o * kh + r) * kw + s] + channel] =
                            w[o * (k + 1) + (channel * kh + kh - 1 - r) * kw + kw - 1 - s]
                    }
                }
            }
        }
    }
}
