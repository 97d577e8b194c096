import NGKernels
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// `Conv2d` by sample against `Conv2d` over the batch (each checked against plain loops and
/// finite differences elsewhere): outputs, weight and input gradients on geometries with
/// strides (direct at stride 2), padding beyond and below "same", 1 × 1 kernels, several input
/// channels, odd sizes, both output layouts, and batches that leave a partial group, each the second step of its
/// layer; and the by-sample sums' independence of the thread count.
@Suite(.serialized) struct ConvolutionBySampleTests {
    /// (geometry, output channels, batch).
    static var cases: [(ConvGeometry, Int, Int)] {
        get throws {
            [
                (try ConvGeometry(inChannels: 1, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1), 3, 5),
                (try ConvGeometry(inChannels: 2, height: 7, width: 5, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1), 4, 17),
                (try ConvGeometry(inChannels: 3, height: 1, width: 1, kernelHeight: 1, kernelWidth: 1), 2, 1),
                (try ConvGeometry(inChannels: 2, height: 5, width: 4, kernelHeight: 2, kernelWidth: 3, padding: 2), 1, 9),
                (try ConvGeometry(inChannels: 4, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, stride: 3), 5, 8),
                // Patches of 37 rows: the weight gradient as a transposed tile product, 5 and 33
                // (a 32-wide tile and one column) output channels; "same" at stride 1.
                (try ConvGeometry(inChannels: 4, height: 6, width: 5, kernelHeight: 3, kernelWidth: 3, padding: 1), 5, 10),
                (try ConvGeometry(inChannels: 4, height: 5, width: 5, kernelHeight: 3, kernelWidth: 3, padding: 1), 33, 3),
                // Direct ("same", 37 rows) over three groups of samples, two on one thread.
                (try ConvGeometry(inChannels: 4, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1), 3, 19),
                // Direct at stride 2 on the input's four phases: odd and even sizes, padding beyond
                // the kernel's half and a kernel of even height; a 1 × 1 kernel (33 rows) unfolds.
                (try ConvGeometry(inChannels: 4, height: 7, width: 5, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1), 5, 10),
                (try ConvGeometry(inChannels: 4, height: 8, width: 6, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1), 33, 3),
                (try ConvGeometry(inChannels: 32, height: 6, width: 5, kernelHeight: 1, kernelWidth: 1, stride: 2), 3, 9),
                (try ConvGeometry(inChannels: 6, height: 6, width: 7, kernelHeight: 2, kernelWidth: 3, stride: 2, padding: 2), 2, 17),
                // Rows of 35 and 18 values: split into the phases sixteen values at a time, then one.
                (try ConvGeometry(inChannels: 4, height: 5, width: 35, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1), 3, 4),
                (try ConvGeometry(inChannels: 6, height: 4, width: 18, kernelHeight: 2, kernelWidth: 3, stride: 2, padding: 2), 2, 3),
            ]
        }
    }

    /// Every case, both layouts, with and without the input gradient: the two ways differ only
    /// in the order of their sums — K + 1 terms a forward value, B·P a weight gradient value,
    /// c_out·kh·kw an input gradient value — each within `2·k²·ε·max|a|·max|b|` for its k terms.
    @Test func bySampleMatchesOverTheBatch() throws {
        defer { ParallelLoop.threadCountOverride.store(0, ordering: .relaxed) }
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        for (geometry, c, batch) in try Self.cases {
            for channelMajor in [false, true] {
                for inputGradient in [false, true] {
                    var results: [(Matrix<Double>, Matrix<Double>, Matrix<Double>)] = []
                    var extremes = (weight: 0.0, input: 0.0, upstream: 0.0)
                    for bySample in [false, true] {
                        var generator = SeededGenerator(seed: 421)
                        let layer = try Conv2d<Double>(
                            geometry: geometry, outChannels: c, computesInputGradient: inputGradient,
                            channelMajorOutput: channelMajor, using: &generator)
                        layer.bySample = bySample
                        layer.weight = Matrix.random(rows: c, columns: geometry.patchSize + 1, using: &generator)
                        let (x, warmX) = (
                            Matrix<Double>.random(rows: batch, columns: geometry.inputLength, using: &generator),
                            Matrix<Double>.random(rows: batch, columns: geometry.inputLength, using: &generator))
                        let upstreamShape = channelMajor
                            ? (c, batch * geometry.positions) : (batch, layer.outputLength)
                        let (upstream, warmUpstream) = (
                            Matrix<Double>.random(rows: upstreamShape.0, columns: upstreamShape.1, using: &generator),
                            Matrix<Double>.random(rows: upstreamShape.0, columns: upstreamShape.1, using: &generator))
                        // A first step on other values: nothing of it may remain in the second.
                        _ = try layer.forward(warmX)
                        _ = try layer.backward(warmUpstream)
                        let y = try layer.forward(x)
                        let dx = try layer.backward(upstream)
                        results.append((y, dx, try handedGradient(layer)))
                        extremes = (largestMagnitude(layer.weight), max(largestMagnitude(x), 1),
                                    largestMagnitude(upstream))
                    }
                    func bound(_ terms: Int, _ a: Double, _ b: Double) -> Double {
                        2 * Double(terms * terms) * Double.ulpOfOne * a * b
                    }
                    let label = "\(geometry) c_out \(c) batch \(batch) channel-major \(channelMajor)"
                    let (batchWay, sampleWay) = (results[0], results[1])
                    #expect(batchWay.0.shape == sampleWay.0.shape && batchWay.1.shape == sampleWay.1.shape, "\(label)")
                    for (a, b) in zip(batchWay.0.elements, sampleWay.0.elements) {
                        #expect(abs(a - b) <= bound(geometry.patchSize + 1, extremes.weight, extremes.input), "\(label): output")
                    }
                    let inputTerms = c * geometry.kernelHeight * geometry.kernelWidth
                    for (a, b) in zip(batchWay.1.elements, sampleWay.1.elements) {
                        #expect(abs(a - b) <= bound(inputTerms, extremes.weight, extremes.upstream), "\(label): input gradient")
                    }
                    let weightTerms = batch * geometry.positions
                    for (a, b) in zip(batchWay.2.elements, sampleWay.2.elements) {
                        #expect(abs(a - b) <= bound(weightTerms, extremes.upstream, extremes.input), "\(label): weight gradient")
                    }
                }
            }
        }
    }

    /// Groups of samples are fixed by the batch, and summed in order: one thread, two or three
    /// give the same bits, for `Conv2d` by sample (two input channels: tiles of unfolded samples;
    /// four: patches of 37 rows, a direct convolution) and for `PooledConv2d` (unfolding, and
    /// direct).
    @Test(arguments: [(false, 2), (true, 2), (false, 4), (true, 4)])
    func bySampleDoesNotDependOnTheThreadCount(pooled: Bool, inChannels: Int) throws {
        defer { ParallelLoop.threadCountOverride.store(0, ordering: .relaxed) }
        let geometry = try ConvGeometry(
            inChannels: inChannels, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        var results: [[Matrix<Double>]] = []
        for threads in [1, 2, 3] {
            ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
            var generator = SeededGenerator(seed: 422)
            let layer: any TrainableLayer<Double> = pooled
                ? try PooledConv2d<Double>(geometry: geometry, outChannels: 4, using: &generator)
                : try Conv2d<Double>(geometry: geometry, outChannels: 4, using: &generator)
            #expect((layer as? Conv2d<Double>)?.bySample ?? true)
            let x = Matrix<Double>.random(rows: 19, columns: geometry.inputLength, using: &generator)
            let y = try layer.forward(x)
            let upstream = Matrix<Double>.random(rows: 19, columns: y.columns, using: &generator)
            let dx = try layer.backward(upstream)
            results.append([y, dx, try handedGradient(layer)])
        }
        #expect(results[0] == results[1] && results[1] == results[2])
    }

    /// Float's loops by sample (`FloatLoops`' tile and row products), channel-major output,
    /// against the Double layer over the batch on the same values — output, input and weight
    /// gradients: within Float's rounding of sums of k terms, `2·k²·ε_f·max|a|·max|b|`.
    /// Three input channels make patches of 28 rows (the weight gradient by row products), four
    /// of 37 (by a transposed tile product).
    @Test(arguments: [3, 4]) func floatBySampleMatchesDouble(inChannels: Int) throws {
        let geometry = try ConvGeometry(inChannels: inChannels, height: 9, width: 7, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let (c, batch) = (6, 11)
        var generator = SeededGenerator(seed: 423)
        let float = try Conv2d<Float>(geometry: geometry, outChannels: c, channelMajorOutput: true, using: &generator)
        let double = try Conv2d<Double>(geometry: geometry, outChannels: c, channelMajorOutput: true, using: &generator)
        #expect(float.bySample)
        double.bySample = false
        double.weight = Matrix(rows: c, columns: geometry.patchSize + 1) { i, j in Double(float.weight[i, j]) }
        let xf = Matrix<Float>.random(rows: batch, columns: geometry.inputLength, using: &generator)
        let gf = Matrix<Float>.random(rows: c, columns: batch * geometry.positions, using: &generator)
        let (y, yf) = (try double.forward(Matrix(rows: batch, columns: xf.columns) { Double(xf[$0, $1]) }), try float.forward(xf))
        let (dx, dxf) = (try double.backward(Matrix(rows: c, columns: gf.columns) { Double(gf[$0, $1]) }), try float.backward(gf))
        let epsilon = Double(Float.ulpOfOne)
        let w = largestMagnitude(double.weight)
        func bound(_ terms: Int, _ a: Double, _ b: Double) -> Double { 2 * Double(terms * terms) * epsilon * a * b }
        for (a, b) in zip(y.elements, yf.elements) { #expect(abs(a - Double(b)) <= bound(geometry.patchSize + 1, w, 1)) }
        for (a, b) in zip(dx.elements, dxf.elements) { #expect(abs(a - Double(b)) <= bound(c * 9, w, 1)) }
        // The weight gradient's B·P terms, and Float's rounding of W − ∇ in `handedGradient`.
        let (gradient, gradientF) = (try handedGradient(double), try handedGradient(float))
        for (a, b) in zip(gradient.elements, gradientF.elements) {
            #expect(abs(a - b) <= bound(batch * geometry.positions, 1, 1) + epsilon * w)
        }
    }
}
