/// The geometry of a 2-D convolution over one sample stored channel-major (C × H × W,
/// row-major within a channel), and its im2col unfolding.
///
/// Output size: `outHeight = (height + 2·padding − kernelHeight) / stride + 1`, likewise for
/// the width. The unfolded patches U are `patchSize × positions` with
/// `U[(c·kh + r)·kw + s, oy·outWidth + ox] = x[c, oy·stride + r − padding, ox·stride + s − padding]`
/// (zero outside the image), so a convolution is `Y = W·U` with W `c_out × patchSize`.
public struct ConvGeometry: Sendable, Equatable, Codable {
    public let inChannels: Int
    public let height: Int
    public let width: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Int

    /// - Throws: `invalidArgument` for a non-positive size or stride, a negative padding, a
    ///   kernel larger than the padded image, or a size or a derived size (padded image, patch,
    ///   sample length, output positions) beyond `Int32.max`, the largest BLAS takes.
    public init(
        inChannels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int,
        stride: Int = 1, padding: Int = 0
    ) throws(NGError) {
        let positive = [("inChannels", inChannels), ("height", height), ("width", width),
                        ("kernelHeight", kernelHeight), ("kernelWidth", kernelWidth),
                        ("stride", stride)]
        for (name, value) in positive where value < 1 {
            throw .invalidArgument(
                operation: .convGeometryInit, argument: name, reason: "must be at least 1, got \(value)")
        }
        try NGError.Operation.convGeometryInit.require(padding >= 0, "padding", "must be non-negative, got \(padding)")
        // Every size and every product of sizes is computed with overflow checks and must be
        // one BLAS can take.
        func bounded(_ name: String, _ factors: [Int], plus extra: Int = 0) throws(NGError) -> Int {
            var product = 1
            for factor in factors {
                let (next, overflow) = product.multipliedReportingOverflow(by: factor)
                guard !overflow else { product = Int.max; break }
                product = next
            }
            let (total, overflow) = product.addingReportingOverflow(extra)
            guard !overflow, total <= Int(Int32.max) else {
                throw .invalidArgument(
                    operation: .convGeometryInit, argument: name, reason: "exceeds Int32.max")
            }
            return total
        }
        for (name, value) in positive + [("padding", padding)] { _ = try bounded(name, [value]) }
        let paddedHeight = try bounded("height + 2·padding", [2, padding], plus: height)
        let paddedWidth = try bounded("width + 2·padding", [2, padding], plus: width)
        _ = try bounded("inChannels·kernelHeight·kernelWidth (+ 1)", [inChannels, kernelHeight, kernelWidth], plus: 1)
        _ = try bounded("inChannels·height·width", [inChannels, height, width])
        if kernelHeight <= paddedHeight, kernelWidth <= paddedWidth {
            _ = try bounded(
                "output positions",
                [(paddedHeight - kernelHeight) / stride + 1, (paddedWidth - kernelWidth) / stride + 1])
        }
        try NGError.Operation.convGeometryInit.require(
            kernelHeight <= height + 2 * padding && kernelWidth <= width + 2 * padding, "kernel",
            "\(kernelHeight)×\(kernelWidth) is larger than the padded image " + "\(height + 2 * padding)×\(width + 2 * padding)")
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    /// Decodes a geometry through the same checks as `init`, so that a decoded spec is never
    /// one the initializer would refuse.
    public init(from decoder: any Decoder) throws {
        enum Keys: String, CodingKey { case inChannels, height, width, kernelHeight, kernelWidth, stride, padding }
        let c = try decoder.container(keyedBy: Keys.self)
        try self.init(
            inChannels: c.decode(Int.self, forKey: .inChannels), height: c.decode(Int.self, forKey: .height),
            width: c.decode(Int.self, forKey: .width), kernelHeight: c.decode(Int.self, forKey: .kernelHeight),
            kernelWidth: c.decode(Int.self, forKey: .kernelWidth), stride: c.decode(Int.self, forKey: .stride),
            padding: c.decode(Int.self, forKey: .padding))
    }

    @inlinable public var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    @inlinable public var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// P, the output positions per channel.
    @inlinable public var positions: Int { outHeight * outWidth }
    /// `inChannels · kernelHeight · kernelWidth`, the rows of U.
    @inlinable public var patchSize: Int { inChannels * kernelHeight * kernelWidth }
    /// `inChannels · height · width`, the length of one input sample.
    @inlinable public var inputLength: Int { inChannels * height * width }

    /// The output columns `ox` whose input column `ox·stride + s − padding` lies inside the
    /// image, for kernel column `s` (with `height` and a kernel row, the same for rows).
    @inlinable
    public func validOutputRange(kernelOffset s: Int, extent: Int, outputs: Int) -> Range<Int> {
        // ox·stride ≥ padding − s and ox·stride ≤ extent − 1 + padding − s.
        let low = padding - s
        let high = extent - 1 + padding - s
        let first = low <= 0 ? 0 : (low + stride - 1) / stride
        let last = high < 0 ? -1 : Swift.min(outputs - 1, high / stride)
        return first <= last ? first..<(last + 1) : 0..<0
    }

    /// Unfolds one sample (`inputLength` values) into U, `patchSize` rows of `positions`
    /// values with leading dimension `ld ≥ positions`.
    @inlinable
    public func unfold<Scalar: BLASScalar>(
        _ x: UnsafePointer<Scalar>, into u: UnsafeMutablePointer<Scalar>, ld: Int
    ) {
        Scalar.unfold(self, x, batch: 1, sampleStride: inputLength, into: u, ld: ld)
    }

    /// Unfolds `batch` samples, `sampleStride` values apart from `x`, into U: `patchSize`
    /// rows, sample i's positions at columns `i·positions..<(i+1)·positions`, leading
    /// dimension `ld ≥ batch·positions`. Each row is written from start to end, so the whole
    /// batch streams through memory once.
    @inlinable
    public func unfold<Scalar: BLASScalar>(
        _ x: UnsafePointer<Scalar>, batch: Int, sampleStride: Int, into u: UnsafeMutablePointer<Scalar>, ld: Int
    ) {
        Scalar.unfold(self, x, batch: batch, sampleStride: sampleStride, into: u, ld: ld)
    }

    /// im2col of the samples that are the rows of `x` (each `inputLength` values) into the
    /// patch rows of `u`, sample after sample along its columns (`positions` each).
    @inlinable
    package func unfold<Scalar: BLASScalar>(_ x: MatrixView<Scalar>, into u: MutableMatrixView<Scalar>) {
        precondition(x.columns == inputLength && u.rows >= patchSize && u.columns >= x.rows * positions,
                     "unfold views of incompatible shapes")
        Scalar.unfold(self, x.base, batch: x.rows, sampleStride: x.leadingDimension, into: u.base, ld: u.leadingDimension)
    }

    /// `unfold(_:into:)` with the samples split over the cores (`ParallelLoop`): the same
    /// values, each sample's patches written by one thread. A thread takes at least 16,384
    /// patch values (as many samples as that needs): below, handing work to another thread
    /// costs more than it saves, and one thread does it all.
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    package func unfoldOnAllCores<Scalar: BLASScalar>(_ x: MatrixView<Scalar>, into u: MutableMatrixView<Scalar>) {
        let positions = self.positions
        let minimumSamples = Swift.max(1, (1 << 14) / Swift.max(1, patchSize * positions))
        ParallelLoop.forEachChunk(x.rows, minimumChunk: minimumSamples) { samples in
            unfold(x.rows(samples), into: u.columns((samples.lowerBound * positions)..<(samples.upperBound * positions)))
        }
    }

    /// Unfolds row `sample` of `inputs` (B × inputLength) into `patches`
    /// (patchSize × positions).
    /// - Throws: `shapeMismatch`, or `invalidArgument` for a sample index out of range.
    @inlinable
    public func unfold<Scalar: BLASScalar>(
        _ inputs: Matrix<Scalar>, sample: Int, into patches: inout Matrix<Scalar>
    ) throws(NGError) {
        let operation = NGError.Operation.convGeometryUnfold
        try inputs.requireShape(Shape(inputs.rows, inputLength), operation, "inputs")
        try patches.requireShape(Shape(patchSize, positions), operation, "patches")
        try operation.require(sample >= 0 && sample < inputs.rows, "sample", "\(sample) is outside 0..<\(inputs.rows)")
        inputs.withView { x in
            patches.withMutableView { u in unfold(x.rows(sample..<sample + 1), into: u) }
        }
    }
}
