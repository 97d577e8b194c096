import NGKernels
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// im2col, col2im and the fused pooling against their definitions written as plain loops, on
/// a sweep of geometries (strides 1–3, padding up to beyond the kernel, non-square images and
/// kernels, one channel and several) and batches of samples.
@Suite struct ConvolutionKernelTests {
    static var geometries: [ConvGeometry] {
        var result: [ConvGeometry] = []
        for (c, h, w) in [(1, 1, 1), (1, 5, 4), (3, 4, 7), (2, 6, 6)] {
            for (kh, kw) in [(1, 1), (3, 3), (2, 3)] {
                for stride in 1...3 {
                    for padding in 0...3 {
                        if let g = try? ConvGeometry(inChannels: c, height: h, width: w, kernelHeight: kh,
                                                     kernelWidth: kw, stride: stride, padding: padding) {
                            result.append(g)
                        }
                    }
                }
            }
        }
        return result
    }

    /// The input value a patch entry reads, or nil for padding.
    static func source(_ g: ConvGeometry, row: Int, position: Int) -> Int? {
        let (c, rest) = row.quotientAndRemainder(dividingBy: g.kernelHeight * g.kernelWidth)
        let (r, s) = rest.quotientAndRemainder(dividingBy: g.kernelWidth)
        let (oy, ox) = position.quotientAndRemainder(dividingBy: g.outWidth)
        let (iy, ix) = (oy * g.stride + r - g.padding, ox * g.stride + s - g.padding)
        guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { return nil }
        return (c * g.height + iy) * g.width + ix
    }

    @Test func batchedIm2colAndCol2imMatchTheirDefinitions() throws {
        var generator = SeededGenerator(seed: 301)
        let geometries = Self.geometries
        #expect(geometries.count > 100)
        for g in geometries {
            for batch in [1, 3] {
                let stride = g.inputLength + 2  // samples need not be adjacent
                let x = Matrix<Double>.random(rows: 1, columns: batch * stride, using: &generator)
                let ld = batch * g.positions + 1
                var u = Matrix<Double>(rows: g.patchSize, columns: ld, repeating: .nan)
                x.withUnsafeBufferPointer { px in
                    u.withUnsafeMutableBufferPointer { pu in
                        g.unfold(px.baseAddress!, batch: batch, sampleStride: stride, into: pu.baseAddress!, ld: ld)
                    }
                }
                // col2im may zero du's entries read from the padding (a workspace); the expected
                // sums below take only the entries read from a pixel, after it ran.
                var du = Matrix<Double>.random(rows: g.patchSize, columns: ld, using: &generator)
                var dx = Matrix<Double>(rows: 1, columns: batch * stride, repeating: 7)
                du.withUnsafeMutableBufferPointer { pdu in
                    dx.withUnsafeMutableBufferPointer { pdx in
                        NetworkKernels.fold(g, pdu.baseAddress!, ld: ld, batch: batch, sampleStride: stride, into: pdx.baseAddress!)
                    }
                }
                var expectedDX = [Double](repeating: 0, count: batch * stride)
                for i in 0..<batch {
                    for j in g.inputLength..<stride { expectedDX[i * stride + j] = 7 }  // untouched gaps
                    for row in 0..<g.patchSize {
                        for position in 0..<g.positions {
                            let column = i * g.positions + position
                            let value = Self.source(g, row: row, position: position).map { x[0, i * stride + $0] } ?? 0
                            #expect(u[row, column] == value, "\(g) sample \(i) row \(row) position \(position)")
                            if let pixel = Self.source(g, row: row, position: position) {
                                expectedDX[i * stride + pixel] += du[row, column]
                            }
                        }
                    }
                }
                for row in 0..<g.patchSize { #expect(u[row, ld - 1].isNaN, "column beyond the batch untouched") }
                for (j, expected) in expectedDX.enumerated() {
                    #expect(abs(dx[0, j] - expected) <= 1e-12 * max(1, abs(expected)), "\(g) col2im value \(j)")
                }
            }
        }
    }

    /// Pooling against a plain-loop reference at several widths (6, 16, 22 and the CNN's 28),
    /// with ties (values drawn from a few levels), negatives, rectification on and off, and the
    /// input sample-major or channel-major (its gradient laid out as the input).
    @Test(arguments: [6, 16, 22, 28], [false, true])
    func poolingMatchesAPlainLoopAtEveryWidth(width: Int, rectify: Bool) throws {
        for channelMajor in [false, true] {
            var generator = SeededGenerator(seed: 305)
            let (channels, height, batch) = (2, 4, 3)
            let plane = height * width
            // Value j of channel c of sample i, and where it is in the layer's input.
            let values = (0..<batch * channels * plane).map { _ in Float(Int.random(in: -3...3, using: &generator)) / 2 }
            func place(_ i: Int, _ c: Int, _ j: Int) -> (row: Int, column: Int) {
                channelMajor ? (c, i * plane + j) : (i, c * plane + j)
            }
            var x = channelMajor ? Matrix<Float>(rows: channels, columns: batch * plane)
                                 : Matrix<Float>(rows: batch, columns: channels * plane)
            for i in 0..<batch {
                for c in 0..<channels {
                    for j in 0..<plane { x[place(i, c, j).row, place(i, c, j).column] = values[(i * channels + c) * plane + j] }
                }
            }
            let upstream = Matrix<Float>.random(rows: batch, columns: channels * plane / 4, using: &generator)
            let pool = try MaxPool2x2<Float>(
                channels: channels, height: height, width: width, rectify: rectify, channelMajorInput: channelMajor)
            let y = try pool.forward(x)
            let dx = try pool.backward(upstream)
            var expectedDX = Matrix<Float>(rows: x.rows, columns: x.columns)
            for i in 0..<batch {
                for c in 0..<channels {
                    func value(_ j: Int) -> Float { values[(i * channels + c) * plane + j] }
                    for oy in 0..<height / 2 {
                        for ox in 0..<width / 2 {
                            let top = 2 * oy * width + 2 * ox
                            var best = top
                            for candidate in [top + 1, top + width, top + width + 1] where value(candidate) > value(best) {
                                best = candidate
                            }
                            let o = c * (height / 2) * (width / 2) + oy * (width / 2) + ox
                            let passes = !rectify || value(best) > 0
                            #expect(y[i, o] == (passes ? value(best) : 0),
                                    "width \(width) channel-major \(channelMajor) sample \(i) output \(o)")
                            if passes { expectedDX[place(i, c, best).row, place(i, c, best).column] = upstream[i, o] }
                        }
                    }
                }
            }
            #expect(dx == expectedDX, "width \(width) channel-major \(channelMajor)")
        }
    }

    @Test func rectifiedPoolingIsReLUThenPoolingForwardAndBackward() throws {
        var generator = SeededGenerator(seed: 302)
        let (channels, height, width, batch) = (3, 4, 6, 5)
        var x = Matrix<Double>.random(rows: batch, columns: channels * height * width, using: &generator)
        // One window entirely negative, one with a zero maximum, one with a tie of positives.
        for (j, value) in [(0, -1.0), (1, -2.0), (6, -0.5), (7, -3.0)] { x[0, j] = value }
        for (j, value) in [(2, 0.0), (3, -1.0), (8, -2.0), (9, 0.0)] { x[0, j] = value }
        for (j, value) in [(4, 0.5), (5, 0.5), (10, 0.25), (11, 0.5)] { x[0, j] = value }
        let upstream = Matrix<Double>.random(rows: batch, columns: channels * height * width / 4, using: &generator)

        let fused = try MaxPool2x2<Double>(channels: channels, height: height, width: width, rectify: true)
        let relu = ReLU<Double>()
        let pool = try MaxPool2x2<Double>(channels: channels, height: height, width: width)
        let fusedOutput = try fused.forward(x)
        let separateOutput = try pool.forward(try relu.forward(x))
        #expect(fusedOutput == separateOutput)
        let fusedGradient = try fused.backward(upstream)
        let separateGradient = try relu.backward(try pool.backward(upstream))
        #expect(fusedGradient == separateGradient)
        #expect(fusedOutput[0, 0] == 0 && fusedOutput[0, 1] == 0 && fusedOutput[0, 2] == 0.5)
        #expect(fusedGradient[0, 4] == upstream[0, 2] && fusedGradient[0, 5] == 0, "the first of tied maxima")
        for j in [0, 1, 2, 3, 6, 7, 8, 9] { #expect(fusedGradient[0, j] == 0) }

        let smooth = Matrix<Double>.random(rows: 2, columns: channels * height * width, using: &generator)
        let g = Matrix<Double>.random(rows: 2, columns: channels * height * width / 4, using: &generator)
        _ = try fused.forward(smooth)
        let dx = try fused.backward(g)
        #expect(try finiteDifferenceError(input: smooth, upstream: g, forward: { try fused.forward($0) }, analytic: dx) < 1e-7)
    }

    /// The CNN's layers on a batch split over threads, and the patch gradient formed and folded
    /// in groups of samples, give what they give sample by sample: the split changes which
    /// thread or which call computes a value, not the sums it is made of. The batch and a
    /// sample are GEMMs of different widths, for which OpenBLAS may choose different kernels
    /// (its small-matrix kernels on AVX-512 cores sum in another order), so the two agree to
    /// the rounding bound of the sums, `2·k·ε·Σ|a||b|` with k terms; a value from a wrong sample
    /// or position differs by the size of the values.
    @Test func convolutionAndPoolingSplitOverThreadsMatchSampleBySample() throws {
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        var generator = SeededGenerator(seed: 303)
        let geometry = try ConvGeometry(inChannels: 3, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let batch = 9
        let conv = try Conv2d<Double>(geometry: geometry, outChannels: 4, using: &generator)
        // Over the batch, its patch gradient in groups of 2 samples: 2, 2, 2, 2 and 1 of the 9.
        conv.bySample = false
        conv.patchGradientBytes = 2 * geometry.patchSize * geometry.positions * MemoryLayout<Double>.stride
        let pool = try MaxPool2x2<Double>(channels: 4, height: 6, width: 6, rectify: true)
        let x = Matrix<Double>.random(rows: batch, columns: geometry.inputLength, using: &generator)
        let upstream = Matrix<Double>.random(rows: batch, columns: 4 * 9, using: &generator)
        let y = try pool.forward(try conv.forward(x))
        let dx = try conv.backward(try pool.backward(upstream))
        // Bounds on Σ|a||b| of any output: a forward value sums k = patch size products of a
        // weight and an input; an input gradient sums, over the ≤ kh·kw patches that read it,
        // c_out products of a weight and an upstream gradient (each routed by one pooling).
        let largest = { (m: Matrix<Double>) in m.elements.reduce(0) { max($0, abs($1)) } }
        let (w, u, g) = (largest(conv.weight), largest(x), largest(upstream))
        let forwardTerms = Double(geometry.patchSize + 1)
        let backwardTerms = Double(4 * geometry.kernelHeight * geometry.kernelWidth)
        let forwardBound = 2 * forwardTerms * Double.ulpOfOne * forwardTerms * w * max(u, 1)
        let backwardBound = 2 * backwardTerms * Double.ulpOfOne * backwardTerms * w * g
        for i in 0..<batch {
            let xi = Matrix<Double>(rows: 1, columns: x.columns) { _, j in x[i, j] }
            let gi = Matrix<Double>(rows: 1, columns: upstream.columns) { _, j in upstream[i, j] }
            let yi = try pool.forward(try conv.forward(xi))
            let dxi = try conv.backward(try pool.backward(gi))
            for j in 0..<y.columns { #expect(abs(y[i, j] - yi[0, j]) <= forwardBound, "y[\(i), \(j)]") }
            for j in 0..<dx.columns { #expect(abs(dx[i, j] - dxi[0, j]) <= backwardBound, "dx[\(i), \(j)]") }
        }
    }

    /// A convolution handing its output channel-major to the pooling gives exactly the
    /// network of the default sample-major hand-over: outputs, gradients, and weights after
    /// NG+ and K-FAC steps whose statistics (formed only on the steps that use them) come from
    /// the channel-major gradient — by sample and over the batch.
    @Test(arguments: [false, true]) func channelMajorHandOverTrainsExactlyLikeSampleMajor(bySample: Bool) throws {
        func network(channelMajor: Bool) throws -> Model<Double> {
            var generator = SeededGenerator(seed: 304)
            let geometry = try ConvGeometry(inChannels: 1, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
            let convolution = try Conv2d<Double>(
                geometry: geometry, outChannels: 3, computesInputGradient: false, channelMajorOutput: channelMajor,
                using: &generator)
            convolution.bySample = bySample
            return Model(layers: [
                convolution,
                try MaxPool2x2<Double>(channels: 3, height: 6, width: 6, rectify: true, channelMajorInput: channelMajor),
                try Dense<Double>(inputs: 27, outputs: 4, using: &generator),
            ])
        }
        var generator = SeededGenerator(seed: 305)
        let x = Matrix<Double>.random(rows: 8, columns: 36, using: &generator)
        let labels = [0, 1, 2, 3, 0, 1, 2, 3][...]
        for optimizer in TestOptimizer.allCases {
            let weights = try [false, true].map { channelMajor in
                try weightsAfterFiveSteps(try network(channelMajor: channelMajor), optimizer, x: x, labels: labels)
            }
            #expect(weights[0] == weights[1], "\(optimizer)")
        }
    }
}
