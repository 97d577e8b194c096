import NGPlus

/// The scalar types of the training stack. Its few non-BLAS loops (activations, pooling) are
/// requirements, forwarded by the Float and Double conformances to the generic code of
/// `NetworkKernels`, so they run compiled for the concrete type even though layers are called
/// through the `NetworkLayer` existential, where Swift never specializes (measured: an
/// unspecialized ReLU and pooling took a third of a CNN step).
public protocol NetworkScalar: BLASScalar {
    /// `y = max(x, 0)`.
    static func relu(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
    /// `dx = y > 0 ? dy : 0`.
    static func reluBackward(
        output y: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int)
    /// col2im (see `NetworkKernels.fold`).
    static func fold(_ geometry: ConvGeometry, _ du: UnsafePointer<Self>, ld: Int, into dx: UnsafeMutablePointer<Self>)
    /// 2×2 max pooling of `planes` planes of `height × width`, with the argmax of each output.
    static func maxPool(
        _ x: UnsafePointer<Self>, planes: Int, height: Int, width: Int,
        into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int>)
}

/// The generic loops behind `NetworkScalar`.
public enum NetworkKernels {
    /// col2im, the adjoint of `ConvGeometry.unfold`: writes one sample's gradient `dx`
    /// (`inputLength` values) from its patch gradient `du` (`patchSize` rows, leading
    /// dimension `ld`), summing every patch entry into the pixel it was read from.
    @inlinable
    public static func fold<Scalar: BLASScalar>(
        _ g: ConvGeometry, _ du: UnsafePointer<Scalar>, ld: Int, into dx: UnsafeMutablePointer<Scalar>
    ) {
        dx.update(repeating: 0, count: g.inputLength)
        for c in 0..<g.inChannels {
            for r in 0..<g.kernelHeight {
                for s in 0..<g.kernelWidth {
                    let row = du + ((c * g.kernelHeight + r) * g.kernelWidth + s) * ld
                    for oy in 0..<g.outHeight {
                        let iy = oy * g.stride + r - g.padding
                        guard iy >= 0, iy < g.height else { continue }
                        let line = dx + (c * g.height + iy) * g.width
                        for ox in 0..<g.outWidth {
                            let ix = ox * g.stride + s - g.padding
                            if ix >= 0 && ix < g.width { line[ix] += row[oy * g.outWidth + ox] }
                        }
                    }
                }
            }
        }
    }

    @inlinable
    public static func relu<Scalar: BLASScalar>(_ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count: Int) {
        for e in 0..<count { y[e] = Swift.max(x[e], 0) }
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

    /// Planes are contiguous `height × width` blocks (channels of all samples in a row);
    /// `argmax` holds the offset of each maximum within the whole input.
    @inlinable
    public static func maxPool<Scalar: BLASScalar>(
        _ x: UnsafePointer<Scalar>, planes: Int, height: Int, width: Int,
        into y: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int>
    ) {
        let (oh, ow) = (height / 2, width / 2)
        for plane in 0..<planes {
            let input = plane * height * width
            let output = plane * oh * ow
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let top = input + 2 * oy * width + 2 * ox
                    var best = top
                    for candidate in [top + 1, top + width, top + width + 1] where x[candidate] > x[best] {
                        best = candidate
                    }
                    y[output + oy * ow + ox] = x[best]
                    argmax[output + oy * ow + ox] = best
                }
            }
        }
    }
}
