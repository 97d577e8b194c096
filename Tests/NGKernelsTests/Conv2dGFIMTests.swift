import NGKernels
import NGTestSupport
import Testing

/// Sample i's gradient of the mean loss by direct convolution loops (no im2col), c_out × (K + 1):
/// `dW_i[o, (c, r, s)] = Σ_{oy,ox} dY_i[o, oy, ox]·x_i[c, oy·stride + r − pad, ox·stride + s − pad]`
/// and `dW_i[o, K] = Σ dY_i[o, :]` (the bias's column).
func directSampleGradient(
    _ g: ConvGeometry, outChannels: Int, inputs x: Reference, outputGradients dy: Reference, sample i: Int
) -> Reference {
    var dw = Reference(rows: outChannels, columns: g.patchSize + 1)
    for o in 0..<outChannels {
        for c in 0..<g.inChannels {
            for r in 0..<g.kernelHeight {
                for s in 0..<g.kernelWidth {
                    var total = 0.0
                    for oy in 0..<g.outHeight {
                        for ox in 0..<g.outWidth {
                            let iy = oy * g.stride + r - g.padding
                            let ix = ox * g.stride + s - g.padding
                            guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                            total += dy[i, o * g.positions + oy * g.outWidth + ox] * x[i, (c * g.height + iy) * g.width + ix]
                        }
                    }
                    dw[o, (c * g.kernelHeight + r) * g.kernelWidth + s] = total
                }
            }
        }
        dw[o, g.patchSize] = (0..<g.positions).reduce(0) { $0 + dy[i, o * g.positions + $1] }
    }
    return dw
}

/// The per-sample GFIM from direct convolution loops: with `dW_i` the gradient of sample i's
/// own loss (B times `directSampleGradient`, the bias's column only with `bias`), the GFIM is
/// `1/(B·√P)·Σ dW_i·dW_iᵀ` (or `dW_iᵀ·dW_i`).
func explicitConvGFIM(
    _ g: ConvGeometry, outChannels: Int, inputs x: Reference, outputGradients dy: Reference,
    bias: Bool, side: Side
) -> (value: Reference, scale: Reference) {
    let batch = x.rows
    let width = g.patchSize + (bias ? 1 : 0)
    let order = side == .left ? outChannels : width
    var sum = Reference(rows: order, columns: order)
    var absoluteSum = sum
    let factor = 1 / (Double(batch) * Double(g.positions).squareRoot())
    for i in 0..<batch {
        let full = directSampleGradient(g, outChannels: outChannels, inputs: x, outputGradients: dy, sample: i)
        var dw = Reference(rows: outChannels, columns: width)
        for o in 0..<outChannels { for k in 0..<width { dw[o, k] = Double(batch) * full[o, k] } }
        let term = side == .left ? dw * dw.transposed : dw.transposed * dw
        let absoluteTerm = side == .left ? dw.absolute * dw.absolute.transposed : dw.absolute.transposed * dw.absolute
        sum = sum + factor * term
        absoluteSum = absoluteSum + factor * absoluteTerm
    }
    return (sum, absoluteSum)
}

/// The observation a layer's backward pass hands over (`Conv2dGFIMBuilder.accumulate(sampleGradients:)`):
/// (K + 1) × (B·c_out), sample i's `dW_iᵀ` in columns i·c_out..<(i+1)·c_out.
func stackedSampleGradients<S: BLASScalar>(
    _ g: ConvGeometry, outChannels: Int, inputs x: Reference, outputGradients dy: Reference
) -> Matrix<S> {
    var stacked = Matrix<S>(rows: g.patchSize + 1, columns: x.rows * outChannels)
    for i in 0..<x.rows {
        let dw = directSampleGradient(g, outChannels: outChannels, inputs: x, outputGradients: dy, sample: i)
        for o in 0..<outChannels { for k in 0...g.patchSize { stacked[k, i * outChannels + o] = S(dw[o, k]) } }
    }
    return stacked
}

@Suite struct Conv2dGFIMTests {
    @Test func im2colOfAHandCheckedImage() throws {
        let g = try ConvGeometry(inChannels: 1, height: 3, width: 3, kernelHeight: 2, kernelWidth: 2)
        let x = try Matrix<Float>(rows: 1, columns: 9, elements: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        var u = Matrix<Float>(rows: 4, columns: 4)
        try g.unfold(x, sample: 0, into: &u)
        #expect(u.elements == [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9])
        // Padding 1, stride 2: outputs at (−1,−1), (−1,1), (1,−1), (1,1) of the top-left tap.
        let padded = try ConvGeometry(
            inChannels: 1, height: 3, width: 3, kernelHeight: 2, kernelWidth: 2, stride: 2, padding: 1)
        #expect(padded.outHeight == 2 && padded.outWidth == 2)
        try padded.unfold(x, sample: 0, into: &u)
        #expect(u.elements == [0, 0, 0, 5, 0, 0, 4, 6, 0, 2, 0, 8, 1, 3, 7, 9])
    }

    @Test func geometryRejectsImpossibleShapes() {
        #expect(throws: NGError.self) {
            try ConvGeometry(inChannels: 1, height: 2, width: 2, kernelHeight: 5, kernelWidth: 1)
        }
        #expect(throws: NGError.self) {
            try ConvGeometry(inChannels: 1, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, stride: 0)
        }
        #expect(throws: NGError.self) {
            try ConvGeometry(inChannels: 1, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, padding: -1)
        }
    }

    @Test(arguments: scalarTypes)
    func matchesPerSampleGradientsFormedByDirectConvolution(type: any BLASScalar.Type) throws {
        try convCase(type)
    }

    func convCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 41)
        // (c_in, H, W, kh, kw, stride, padding, c_out, batch)
        let cases = [
            (1, 1, 1, 1, 1, 1, 0, 1, 1), (1, 5, 4, 3, 3, 1, 1, 2, 3), (2, 6, 5, 3, 2, 2, 0, 5, 2),
            (3, 4, 4, 2, 2, 1, 0, 1, 1), (2, 7, 7, 3, 3, 2, 1, 6, 4),
            // Wider than Float's vector tiles, in both dimensions of dW_iᵀ (46 × 35 with a bias).
            (5, 6, 6, 3, 3, 1, 1, 35, 3),
        ]
        for (cin, h, w, kh, kw, stride, padding, cout, batch) in cases {
            let g = try ConvGeometry(
                inChannels: cin, height: h, width: w, kernelHeight: kh, kernelWidth: kw,
                stride: stride, padding: padding)
            for bias in [false, true] {
                for side in Side.allCases {
                    for (blockSize, newWeight) in [(1024, 1.0), (2, 0.5)] {
                        let x = Matrix<S>.random(rows: batch, columns: g.inputLength, using: &generator)
                        let dy = Matrix<S>.random(rows: batch, columns: cout * g.positions, using: &generator)
                        // Stacks of the default size, and of 2 so that a batch spans several stacks.
                        var builder = try Conv2dGFIMBuilder<S>(
                            geometry: g, outChannels: cout, bias: bias, side: side,
                            stackedSamples: blockSize == 2 ? 2 : nil)
                        let order = builder.dimension
                        let previous: BlockDiagonalMatrix<S> = try randomGFIM(
                            order: order, rank: 2, blockSize: blockSize, using: &generator)
                        var f = previous
                        var fromSamples = previous
                        var samplesBuilder = builder
                        try builder.accumulate(inputs: x, outputGradients: dy, newWeight: S(newWeight), into: &f)
                        let sampleGradients: Matrix<S> = stackedSampleGradients(
                            g, outChannels: cout, inputs: Reference(x), outputGradients: Reference(dy))
                        try samplesBuilder.accumulate(
                            sampleGradients: sampleGradients, newWeight: S(newWeight), into: &fromSamples)
                        let (fresh, freshScale) = explicitConvGFIM(
                            g, outChannels: cout, inputs: Reference(x), outputGradients: Reference(dy),
                            bias: bias, side: side)
                        let blocks = { (r: Reference) throws -> Reference in
                            Reference(try BlockDiagonalMatrix(
                                diagonalBlocksOf: Matrix<Double>(rows: order, columns: order, elements: r.values),
                                blockSize: blockSize).dense())
                        }
                        let old = Reference(previous.dense())
                        let expected = (1 - newWeight) * old + newWeight * (try blocks(fresh))
                        let scale = (1 - newWeight) * old.absolute + newWeight * (try blocks(freshScale))
                        let error = relativeError(Reference(f.dense()), expected, scale: scale)
                        let tolerance = productTolerance(S.self, inner: g.positions + g.patchSize + cout + batch + 4)
                        let label = "conv \(cin)×\(h)×\(w) k\(kh)×\(kw) s\(stride) p\(padding) → \(cout), B=\(batch), bias \(bias) \(side) block \(blockSize)"
                        #expect(error <= tolerance, "\(label): \(error)")
                        // From the per-sample gradients (rounded to S once), only the Gram left.
                        let samplesError = relativeError(Reference(fromSamples.dense()), expected, scale: scale)
                        #expect(samplesError <= tolerance, "\(label), from sample gradients: \(samplesError)")
                    }
                }
            }
        }
    }

    @Test func badInputThrowsAndLeavesTheGFIMUntouched() throws {
        let g = try ConvGeometry(inChannels: 2, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, padding: 1)
        var builder = try Conv2dGFIMBuilder<Float>(geometry: g, outChannels: 3, bias: true)
        let original = try BlockDiagonalMatrix(diagonalBlocksOf: Matrix<Float>.identity(3))
        var f = original
        let x = Matrix<Float>(rows: 2, columns: 32, repeating: 1)
        let dy = Matrix<Float>(rows: 2, columns: 48, repeating: 1)
        let op: NGError.Operation = "Conv2dGFIMBuilder.accumulate"
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "inputs", expected: Shape(2, 32), actual: Shape(2, 31))) {
            try builder.accumulate(inputs: Matrix(rows: 2, columns: 31), outputGradients: dy, into: &f)
        }
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "outputGradients", expected: Shape(2, 48), actual: Shape(1, 48))) {
            try builder.accumulate(inputs: x, outputGradients: Matrix(rows: 1, columns: 48), into: &f)
        }
        var nan = dy
        nan[1, 47] = .nan
        #expect(throws: NGError.nonFinite(operation: op, argument: "outputGradients", row: 1, column: 47)) {
            try builder.accumulate(inputs: x, outputGradients: nan, into: &f)
        }
        var wrong = try BlockDiagonalMatrix<Float>(dimension: 19)
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "GFIM", expected: Shape(3, 3), actual: Shape(19, 19))) {
            try builder.accumulate(inputs: x, outputGradients: dy, into: &wrong)
        }
        // Per-sample gradients: K + 1 = 19 rows, a whole number of samples of 3 columns each.
        let samples = Matrix<Float>(rows: 19, columns: 6, repeating: 1)
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "sampleGradients", expected: Shape(19, 6), actual: Shape(18, 6))) {
            try builder.accumulate(sampleGradients: Matrix(rows: 18, columns: 6), into: &f)
        }
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "sampleGradients", expected: Shape(19, 6), actual: Shape(19, 7))) {
            try builder.accumulate(sampleGradients: Matrix(rows: 19, columns: 7), into: &f)
        }
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "sampleGradients", expected: Shape(19, 3), actual: Shape(19, 2))) {
            try builder.accumulate(sampleGradients: Matrix(rows: 19, columns: 2), into: &f)
        }
        var nanSamples = samples
        nanSamples[18, 5] = .infinity
        #expect(throws: NGError.nonFinite(operation: op, argument: "sampleGradients", row: 18, column: 5)) {
            try builder.accumulate(sampleGradients: nanSamples, into: &f)
        }
        #expect(throws: NGError.self) { try builder.accumulate(sampleGradients: samples, into: &wrong) }
        #expect(f == original)
        #expect(throws: NGError.self) { try Conv2dGFIMBuilder<Float>(geometry: g, outChannels: 0, bias: false) }
    }

    /// A stack's samples are split over the cores and the Grams fill one triangle before a
    /// mirror: the same bits on one thread and on two (a batch of 15 in stacks of 7, a thread
    /// taking at least 2²⁰ multiply-adds — 3 samples of 73 × 16 × 256 here: chunks of uneven
    /// length, a last short stack, two blocks), and F exactly symmetric.
    @Test func splitSamplesGiveTheSameBitsOnAnyThreadCountAndASymmetricGFIM() throws {
        var generator = SeededGenerator(seed: 43)
        let g = try ConvGeometry(inChannels: 8, height: 16, width: 16, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let x = Matrix<Float>.random(rows: 15, columns: g.inputLength, using: &generator)
        let dy = Matrix<Float>.random(rows: 15, columns: 16 * g.positions, using: &generator)
        for side in Side.allCases {
            var gfims: [BlockDiagonalMatrix<Float>] = []
            for threads in [1, 2] {
                ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
                var builder = try Conv2dGFIMBuilder<Float>(geometry: g, outChannels: 16, bias: true, side: side, stackedSamples: 7)
                var f = try BlockDiagonalMatrix<Float>(dimension: builder.dimension, blockSize: 3)
                try builder.accumulate(inputs: x, outputGradients: dy, newWeight: 1, into: &f)
                gfims.append(f)
            }
            // Left set: other tests of this process may split too, which changes no result.
            ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
            #expect(gfims[0] == gfims[1], "\(side)")
            let dense = gfims[1].dense()
            #expect(dense == dense.transposed(), "\(side)")
        }
    }

    /// The default stack holds about 1 MiB of Float gradients: 64 output channels over 32 × 3 × 3
    /// patches and a bias (18,560 gradient values a sample) stack 14 samples; two 3 × 3 filters
    /// of one channel, 64.
    @Test func theDefaultStackIsBoundedByItsGradients() throws {
        let deep = try ConvGeometry(inChannels: 32, height: 14, width: 14, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(try Conv2dGFIMBuilder<Float>(geometry: deep, outChannels: 64, bias: true).stackedSamples == 14)
        let small = try ConvGeometry(inChannels: 1, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(try Conv2dGFIMBuilder<Float>(geometry: small, outChannels: 2, bias: true).stackedSamples == 64)
        // A stack the caller sets whose gradients exceed Int32 sizes (5,000 × 256 × 2,305 values).
        let wide = try ConvGeometry(inChannels: 256, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(throws: NGError.self) {
            try Conv2dGFIMBuilder<Float>(geometry: wide, outChannels: 256, bias: true, stackedSamples: 5000)
        }
    }
}
