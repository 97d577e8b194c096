import NGPlus

/// Where a "same" convolution at stride 1 (a kh × kw kernel with kh = kw = 2·padding + 1, the
/// output as large as the input) finds its patches without unfolding them: each sample's input
/// is copied into zero-bordered planes of (H + 2·padding) × (W + 2·padding), and patch row
/// (c, r, s) is then plane c read from offset r·(W + 2·padding) + s — the output computed on the
/// padded grid's rows, `wideColumns` positions of which the last 2·padding of each row are
/// discarded. The weight gradient reads dY placed in zero-bordered planes the same way, and the
/// input gradient is the convolution of those planes with the kernel turned by 180°, so neither
/// pass unfolds nor folds: a sample's patches (nine times its input for a 3 × 3 kernel) are never
/// written (`NetworkKernels.directConvolution`).
public struct DirectConvolutionLayout: Sendable {
    let geometry: ConvGeometry
    let outChannels: Int
    /// W + 2·padding: a padded row.
    let paddedWidth: Int
    /// (H + 2·padding)·(W + 2·padding): a padded plane.
    let paddedPlane: Int
    /// (H − 1)·(W + 2·padding) + W: the output's positions on the padded grid, junk between rows.
    let wideColumns: Int
    /// Patch row (c, r, s) in the padded input: c·plane + r·row + s; the bias's ones after the
    /// planes (K + 1 offsets).
    let patchRows: [Int]
    /// Row o of W̃: o·(K + 1).
    let weightRows: [Int]
    /// dY's row (o, r, s) in its padded planes, for the input gradient: o·plane + r·row + s.
    let gradientRows: [Int]
    /// Row c of the turned kernel (c_in rows of c_out·kh·kw).
    let turnedRows: [Int]
    /// Row x of dY's transpose on the wide grid (`wideColumns` rows of c_out).
    let positionRows: [Int]

    /// Whether `geometry` is a "same" convolution at stride 1.
    static func applies(to geometry: ConvGeometry) -> Bool {
        geometry.stride == 1 && geometry.outHeight == geometry.height && geometry.outWidth == geometry.width
    }

    init(geometry g: ConvGeometry, outChannels c: Int) {
        precondition(Self.applies(to: g), "a direct convolution is a \"same\" one at stride 1")
        geometry = g
        outChannels = c
        paddedWidth = g.width + 2 * g.padding
        paddedPlane = (g.height + 2 * g.padding) * paddedWidth
        wideColumns = (g.height - 1) * paddedWidth + g.width
        let (kh, kw, row, plane) = (g.kernelHeight, g.kernelWidth, paddedWidth, paddedPlane)
        var patchRows: [Int] = []
        for channel in 0..<g.inChannels {
            for r in 0..<kh { for s in 0..<kw { patchRows.append(channel * plane + r * row + s) } }
        }
        self.patchRows = patchRows + [g.inChannels * plane]
        weightRows = (0..<c).map { $0 * (g.patchSize + 1) }
        var gradientRows: [Int] = []
        for o in 0..<c {
            for r in 0..<kh { for s in 0..<kw { gradientRows.append(o * plane + r * row + s) } }
        }
        self.gradientRows = gradientRows
        turnedRows = (0..<g.inChannels).map { $0 * c * kh * kw }
        positionRows = (0..<wideColumns).map { $0 * c }
    }

    /// `channels` planes of H × W (`channelStride` apart) into the interiors of the padded planes
    /// at `padded`, whose borders the caller has zeroed.
    func pad<Scalar: BLASScalar>(
        _ source: UnsafePointer<Scalar>, channels: Int, channelStride: Int, into padded: UnsafeMutablePointer<Scalar>
    ) {
        let (height, width, border) = (geometry.height, geometry.width, geometry.padding)
        for channel in 0..<channels {
            let plane = padded + channel * paddedPlane + border * paddedWidth + border
            for y in 0..<height {
                (plane + y * paddedWidth).update(from: source + channel * channelStride + y * width, count: width)
            }
        }
    }

    /// `channels` rows of the wide grid (`wideColumns` apart) into planes of H × W (`channelStride`
    /// apart), each row's junk left behind.
    func compact<Scalar: BLASScalar>(
        _ wide: UnsafePointer<Scalar>, channels: Int, into target: UnsafeMutablePointer<Scalar>, channelStride: Int
    ) {
        let (height, width) = (geometry.height, geometry.width)
        for channel in 0..<channels {
            for y in 0..<height {
                (target + channel * channelStride + y * width)
                    .update(from: wide + channel * wideColumns + y * paddedWidth, count: width)
            }
        }
    }

    /// The kernel turned by 180° with its channels swapped, for the input gradient: row c, column
    /// (o, r, s) of `turned` (c_in × c_out·kh·kw) is W̃[o, (c, kh − 1 − r, kw − 1 − s)].
    func turn<Scalar: BLASScalar>(_ w: UnsafePointer<Scalar>, into turned: UnsafeMutablePointer<Scalar>) {
        let (kh, kw, k) = (geometry.kernelHeight, geometry.kernelWidth, geometry.patchSize)
        for channel in 0..<geometry.inChannels {
            for o in 0..<outChannels {
                for r in 0..<kh {
                    for s in 0..<kw {
                        turned[turnedRows[channel] + (o * kh + r) * kw + s] =
                            w[o * (k + 1) + (channel * kh + kh - 1 - r) * kw + kw - 1 - s]
                    }
                }
            }
        }
    }
}
