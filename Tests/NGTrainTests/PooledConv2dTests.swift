import NGKernels
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// `PooledConv2d` against what it fuses — `Conv2d` then `MaxPool2x2(rectify: true)`, each
/// checked against plain loops elsewhere — and against finite differences: outputs, weight
/// and input gradients on geometries with strides, padding, 1 × 1 kernels, several input
/// channels and batches that leave a partial group; Float against Double; refusals; and
/// training with NG+, K-FAC and SGD. (Its independence of the thread count is tested with
/// `Conv2d`'s by sample, `ConvolutionBySampleTests`.)
@Suite struct PooledConv2dTests {
    /// (geometry, output channels, batch): outputs of even height and width.
    static var cases: [(ConvGeometry, Int, Int)] {
        get throws {
            [
                (try ConvGeometry(inChannels: 1, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1), 3, 5),
                (try ConvGeometry(inChannels: 2, height: 7, width: 6, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1), 4, 17),
                (try ConvGeometry(inChannels: 3, height: 2, width: 2, kernelHeight: 1, kernelWidth: 1), 1, 1),
                (try ConvGeometry(inChannels: 1, height: 9, width: 5, kernelHeight: 2, kernelWidth: 2, padding: 0), 2, 9),
                // Patches of 37 rows, "same", stride 1: a direct convolution, three groups of samples.
                (try ConvGeometry(inChannels: 4, height: 6, width: 8, kernelHeight: 3, kernelWidth: 3, padding: 1), 3, 19),
                // 37 rows at stride 2: direct on the input's phases.
                (try ConvGeometry(inChannels: 4, height: 8, width: 7, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1), 3, 11),
            ]
        }
    }

    /// The same function and gradients as the two layers it fuses, made from the same seed (so
    /// with the same weights). Only the order of the sums differs: a forward value sums K + 1
    /// products, a weight gradient B·P, an input gradient c_out·kh·kw; each pair agrees to
    /// `2·k·ε·k·max|a|·max|b|` for its k terms, while a value routed to the wrong position or
    /// sample differs by the size of the values.
    @Test func matchesConvolutionThenRectifiedPooling() throws {
        for (geometry, c, batch) in try Self.cases {
            var generator = SeededGenerator(seed: 411)
            let fused = try PooledConv2d<Double>(geometry: geometry, outChannels: c, using: &generator)
            generator = SeededGenerator(seed: 411)
            let conv = try Conv2d<Double>(geometry: geometry, outChannels: c, using: &generator)
            let pool = try MaxPool2x2<Double>(channels: c, height: geometry.outHeight, width: geometry.outWidth, rectify: true)
            #expect(fused.weight == conv.weight)
            #expect(fused.readsPaddedPlanes == (geometry.patchSize + 1 >= 32), "\(geometry)")
            var data = SeededGenerator(seed: 412)
            let x = Matrix<Double>.random(rows: batch, columns: geometry.inputLength, using: &data)
            let upstream = Matrix<Double>.random(rows: batch, columns: fused.outputLength, using: &data)

            let y = try fused.forward(x)
            let want = try pool.forward(try conv.forward(x))
            let dx = try fused.backward(upstream)
            let wantDx = try conv.backward(try pool.backward(upstream))
            let (gradient, wantGradient) = (try handedGradient(fused), try handedGradient(conv))

            let (w, u, g) = (largestMagnitude(conv.weight), max(largestMagnitude(x), 1), largestMagnitude(upstream))
            func bound(_ terms: Int, _ a: Double, _ b: Double) -> Double {
                2 * Double(terms) * Double.ulpOfOne * Double(terms) * a * b
            }
            let label = "\(geometry) c_out \(c) batch \(batch)"
            #expect(y.shape == want.shape && dx.shape == wantDx.shape, "\(label)")
            for (a, b) in zip(y.elements, want.elements) {
                #expect(abs(a - b) <= bound(geometry.patchSize + 1, w, u), "\(label): output")
            }
            for (a, b) in zip(dx.elements, wantDx.elements) {
                #expect(abs(a - b) <= bound(c * geometry.kernelHeight * geometry.kernelWidth, w, g), "\(label): input gradient")
            }
            for (a, b) in zip(gradient.elements, wantGradient.elements) {
                #expect(abs(a - b) <= bound(batch * geometry.positions, g, u), "\(label): weight gradient")
            }
        }
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 413)
        let geometry = try ConvGeometry(inChannels: 2, height: 7, width: 6, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1)
        let layer = try PooledConv2d<Double>(geometry: geometry, outChannels: 3, using: &generator)
        layer.weight = Matrix.random(rows: 3, columns: geometry.patchSize + 1, using: &generator)
        let x = Matrix<Double>.random(rows: 3, columns: geometry.inputLength, using: &generator)
        let g = Matrix<Double>.random(rows: 3, columns: layer.outputLength, using: &generator)
        _ = try layer.forward(x)
        let dx = try layer.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try layer.forward($0) }, analytic: dx) < 1e-7)
        #expect(try parameterFiniteDifferenceError(layer, input: x, upstream: g) < 1e-7)
    }

    /// Float's loops (`FloatLoops`' tile products, row products and pooling) against the
    /// Double layer on the same values: within Float's rounding of sums of k terms,
    /// `2·k·ε_f·max|a|·max|b|·k`.
    @Test func floatMatchesDouble() throws {
        for (geometry, c, batch) in try Self.cases {
            var generator = SeededGenerator(seed: 415)
            let double = try PooledConv2d<Double>(geometry: geometry, outChannels: c, using: &generator)
            let float = try PooledConv2d<Float>(geometry: geometry, outChannels: c, using: &generator)
            float.weight = Matrix(rows: c, columns: geometry.patchSize + 1) { i, j in Float(double.weight[i, j]) }
            double.weight = Matrix(rows: c, columns: geometry.patchSize + 1) { i, j in Double(float.weight[i, j]) }
            let xf = Matrix<Float>.random(rows: batch, columns: geometry.inputLength, using: &generator)
            let gf = Matrix<Float>.random(rows: batch, columns: double.outputLength, using: &generator)
            let x = Matrix<Double>(rows: batch, columns: xf.columns) { i, j in Double(xf[i, j]) }
            let g = Matrix<Double>(rows: batch, columns: gf.columns) { i, j in Double(gf[i, j]) }
            let (y, yf) = (try double.forward(x), try float.forward(xf))
            let (dx, dxf) = (try double.backward(g), try float.backward(gf))
            let epsilon = Double(Float.ulpOfOne)
            let (w, u, up) = (largestMagnitude(double.weight), max(largestMagnitude(x), 1), largestMagnitude(g))
            func bound(_ terms: Int, _ a: Double, _ b: Double) -> Double { 2 * Double(terms * terms) * epsilon * a * b }
            for (a, b) in zip(y.elements, yf.elements) { #expect(abs(a - Double(b)) <= bound(geometry.patchSize + 1, w, u)) }
            for (a, b) in zip(dx.elements, dxf.elements) {
                #expect(abs(a - Double(b)) <= bound(c * geometry.kernelHeight * geometry.kernelWidth, w, up))
            }
        }
    }

    /// Without an input gradient, a layer whose patches are unfolded takes its weight gradient
    /// from the pooled gradient alone (`NetworkScalar.pooledWeightGradient`): the same gradient
    /// as the layer with one, to the rounding of sums of B·P terms, in Double and in Float
    /// (against the Double layer on the same values, its loop compiled at the machine's vector
    /// level), and against finite differences.
    @Test func weightGradientFromThePooledGradientAlone() throws {
        // Patches of 28 rows: the loop's second vector of sums.
        let wide = (try ConvGeometry(inChannels: 3, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1), 2, 9)
        for (geometry, c, batch) in try Self.cases + [wide] where geometry.patchSize + 1 < 32 {
            var generator = SeededGenerator(seed: 417)
            let withInput = try PooledConv2d<Double>(geometry: geometry, outChannels: c, using: &generator)
            let float = try PooledConv2d<Float>(geometry: geometry, outChannels: c, computesInputGradient: false, using: &generator)
            float.weight = Matrix(rows: c, columns: geometry.patchSize + 1) { i, j in Float(withInput.weight[i, j]) }
            withInput.weight = Matrix(rows: c, columns: geometry.patchSize + 1) { i, j in Double(float.weight[i, j]) }
            let alone = try PooledConv2d<Double>(geometry: geometry, outChannels: c, computesInputGradient: false, using: &generator)
            alone.weight = withInput.weight
            let xf = Matrix<Float>.random(rows: batch, columns: geometry.inputLength, using: &generator)
            let gf = Matrix<Float>.random(rows: batch, columns: alone.outputLength, using: &generator)
            let x = Matrix<Double>(rows: batch, columns: xf.columns) { i, j in Double(xf[i, j]) }
            let g = Matrix<Double>(rows: batch, columns: gf.columns) { i, j in Double(gf[i, j]) }
            _ = try withInput.forward(x)
            _ = try withInput.backward(g)
            _ = try alone.forward(x)
            #expect(try alone.backward(g).isEmpty)
            _ = try float.forward(xf)
            #expect(try float.backward(gf).isEmpty)
            let (want, got, gotFloat) = (try handedGradient(withInput), try handedGradient(alone), try handedGradient(float))
            let terms = batch * geometry.positions
            let (u, up) = (max(largestMagnitude(x), 1), largestMagnitude(g))
            let label = "\(geometry) c_out \(c) batch \(batch)"
            for (a, b) in zip(want.elements, got.elements) {
                #expect(abs(a - b) <= 2 * Double(terms * terms) * Double.ulpOfOne * u * up, "\(label)")
            }
            // Float's gradient is read back as W − (W − ∇), which rounds at W's magnitude too.
            let readBack = Double(Float.ulpOfOne) * (largestMagnitude(alone.weight) + largestMagnitude(got))
            for (a, b) in zip(got.elements, gotFloat.elements) {
                #expect(abs(a - b) <= 2 * Double(terms * terms) * Double(Float.ulpOfOne) * u * up + readBack, "\(label): Float")
            }
            #expect(try parameterFiniteDifferenceError(alone, input: x, upstream: g) < 1e-7, "\(label)")
        }
    }

    /// An output of odd size cannot be pooled; a wrong input or gradient shape is refused with
    /// nothing changed.
    @Test func refusesWhatItCannotPoolAndWrongShapes() throws {
        var generator = SeededGenerator(seed: 416)
        let odd = try ConvGeometry(inChannels: 1, height: 6, width: 5, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(throws: NGError.self) { try PooledConv2d<Double>(geometry: odd, outChannels: 2, using: &generator) }
        let geometry = try ConvGeometry(inChannels: 1, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(throws: NGError.self) { try PooledConv2d<Double>(geometry: geometry, outChannels: 0, using: &generator) }
        let layer = try PooledConv2d<Double>(geometry: geometry, outChannels: 2, using: &generator)
        let x = Matrix<Double>.random(rows: 2, columns: 36, using: &generator)
        let y = try layer.forward(x)
        let weight = layer.weight
        #expect(throws: NGError.self) { try layer.forward(Matrix<Double>(rows: 2, columns: 35)) }
        #expect(throws: NGError.self) { try layer.backward(Matrix<Double>(rows: 2, columns: layer.outputLength + 1)) }
        #expect(layer.weight == weight)
        #expect(try layer.forward(x) == y)
    }

    /// A network whose first convolution and pooling are one `PooledConv2d` trains like the
    /// same network with the two layers: five steps of NG+ (its statistics from the
    /// full-resolution gradient the layer forms for it), K-FAC and SGD end at the same weights
    /// to within the rounding the sums' order makes, amplified by the damped inverses (bounded
    /// here by 10⁻⁹ relative to the weights' size).
    @Test func trainsLikeConvolutionThenPooling() throws {
        let geometry = try ConvGeometry(inChannels: 1, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        func network(fused: Bool) throws -> Model<Double> {
            var generator = SeededGenerator(seed: 417)
            let first: [any NetworkLayer<Double>] = fused
                ? [try PooledConv2d<Double>(geometry: geometry, outChannels: 3, computesInputGradient: false, using: &generator)]
                : [try Conv2d<Double>(geometry: geometry, outChannels: 3, computesInputGradient: false, using: &generator),
                   try MaxPool2x2<Double>(channels: 3, height: 6, width: 6, rectify: true)]
            return Model(layers: first + [try Dense<Double>(inputs: 27, outputs: 4, using: &generator)])
        }
        var generator = SeededGenerator(seed: 418)
        let x = Matrix<Double>.random(rows: 8, columns: 36, using: &generator)
        let labels = [0, 1, 2, 3, 0, 1, 2, 3][...]
        for optimizer in TestOptimizer.allCases {
            let weights = try [false, true].map { fused in
                try weightsAfterFiveSteps(try network(fused: fused), optimizer, x: x, labels: labels)
            }
            for (a, b) in zip(weights[0], weights[1]) {
                let scale = max(largestMagnitude(a), 1)
                #expect(zip(a.elements, b.elements).allSatisfy { abs($0 - $1) <= 1e-9 * scale }, "\(optimizer)")
            }
        }
    }
}
