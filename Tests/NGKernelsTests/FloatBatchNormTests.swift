import NGKernels
import NGTestSupport
import Testing

/// `FloatLoops.batchNorm` and its gradient at every vector level this machine offers, against
/// Double from the same Float inputs, with bounds from their roundings (u the unit roundoff, N =
/// rows·positions a channel's values): μ's sum is within N·u·max|x|, which moves every x̂ by
/// that over σ and σ by twice it; the sum of squares, the square root and the division add
/// (N/2 + 6)·u of x̂; y = γx̂ + β adds γ times that and two roundings. The gradient is checked
/// from the Float x̂ and 1/σ the loops keep and form again: each channel mean within N·u of its
/// largest term, four roundings in the combination and two in γ·(1/σ); ∂γ and ∂β within
/// (N + 1)·u of the sum of their terms' magnitudes. Shapes from one value a channel to 33
/// positions, a batch of one, a range of channels with the others untouched, the fused ReLU
/// (NaN kept, −0 made 0) and its mask, and the running statistics' form.
@Suite struct FloatBatchNormTests {
    static let levels: [FloatLoops] = [VectorLevel.sse, .avx2, .avx512].compactMap { FloatLoops(level: $0) }
    static let u = Double(Float.ulpOfOne) / 2

    struct Case {
        var rows: Int, channels: Int, positions: Int, range: Range<Int>
        var width: Int { channels * positions }
        var values: Int { rows * positions }
        func offset(_ b: Int, _ c: Int, _ p: Int) -> Int { b * width + c * positions + p }
    }

    static let cases = [
        Case(rows: 1, channels: 1, positions: 2, range: 0..<1), Case(rows: 2, channels: 3, positions: 1, range: 0..<3),
        Case(rows: 3, channels: 2, positions: 7, range: 0..<2), Case(rows: 5, channels: 4, positions: 17, range: 1..<3),
        Case(rows: 2, channels: 2, positions: 33, range: 0..<2), Case(rows: 1, channels: 3, positions: 49, range: 2..<3),
    ]

    @Test(arguments: levels)
    func normalizationAndItsGradientMatchADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 46)
        let u = Self.u
        for shape in Self.cases {
            let count = shape.rows * shape.width
            let x = (0..<count).map { _ in Float.random(in: -2...2, using: &generator) + 3 }
            let dy = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
            let gain = (0..<shape.channels).map { _ in Float.random(in: 0.5...1.5, using: &generator) }
            let bias = (0..<shape.channels).map { _ in Float.random(in: -1...1, using: &generator) }
            var (mean, variance, inverse) = ([Float](repeating: 7, count: shape.channels),
                                             [Float](repeating: 7, count: shape.channels),
                                             [Float](repeating: 7, count: shape.channels))
            var y = [Float](repeating: 7, count: count)
            loops.batchNorm(
                x, rows: shape.rows, channelCount: shape.channels, positions: shape.positions, channels: shape.range,
                gain: gain, bias: bias, epsilon: 1e-5, batchStatistics: true, rectify: false, mean: &mean,
                variance: &variance, into: &y, inverseDeviation: &inverse)
            var (dx, gainGradient, biasGradient) = ([Float](repeating: 7, count: count),
                                                    [Float](repeating: 7, count: shape.channels),
                                                    [Float](repeating: 7, count: shape.channels))
            loops.batchNormBackward(
                dy, input: x, mean: mean, inverseDeviation: inverse, rows: shape.rows, channelCount: shape.channels,
                positions: shape.positions, channels: shape.range, gain: gain, batchStatistics: true,
                rectifiedOutput: nil, into: &dx, gainGradient: &gainGradient, biasGradient: &biasGradient)
            let n = Double(shape.values)
            for c in 0..<shape.channels {
                let indices = (0..<shape.rows).flatMap { b in (0..<shape.positions).map { shape.offset(b, c, $0) } }
                guard shape.range.contains(c) else {
                    #expect(mean[c] == 7 && variance[c] == 7 && inverse[c] == 7 && gainGradient[c] == 7)
                    #expect(indices.allSatisfy { y[$0] == 7 && dx[$0] == 7 }, "\(loops.level): channel \(c) untouched")
                    continue
                }
                let values = indices.map { Double(x[$0]) }
                let mu = values.reduce(0, +) / n
                let deviation = (values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / n + Double(Float(1e-5))).squareRoot()
                let largest = values.map(abs).max()!
                #expect(abs(Double(mean[c]) - mu) <= (n + 1) * u * largest, "\(loops.level): μ of channel \(c)")
                #expect(abs(Double(inverse[c]) * deviation - 1) <= u * ((n + 1) * 2 * largest / deviation + n / 2 + 6))
                let hat = indices.map { Double((x[$0] - mean[c]) * inverse[c]) }
                let g = indices.map { Double(dy[$0]) }
                let (gMean, weightedMean) = (g.reduce(0, +) / n, zip(g, hat).map(*).reduce(0, +) / n)
                let gLargest = g.map(abs).max()!
                let weightedLargest = zip(g, hat).map { abs($0 * $1) }.max()!
                let scale = Double(gain[c]) * Double(inverse[c])
                for (k, e) in indices.enumerated() {
                    let wantHat = (values[k] - mu) / deviation
                    let hatBound = u * ((n + 1) * (largest / deviation) * (1 + abs(wantHat)) + (n / 2 + 6) * abs(wantHat))
                    #expect(abs(hat[k] - wantHat) <= hatBound, "\(loops.level): x̂ of channel \(c)")
                    let wantY = Double(gain[c]) * wantHat + Double(bias[c])
                    #expect(abs(Double(y[e]) - wantY) <= Double(gain[c]) * hatBound + 2 * u * (abs(wantY) + 1))
                    let wantDx = scale * (g[k] - gMean - hat[k] * weightedMean)
                    let dxBound = scale * (n * u * gLargest + abs(hat[k]) * n * u * weightedLargest
                        + 4 * u * (abs(g[k]) + abs(gMean) + abs(hat[k] * weightedMean))) + 2 * u * abs(wantDx)
                    #expect(abs(Double(dx[e]) - wantDx) <= dxBound, "\(loops.level): dx of channel \(c)")
                }
                let terms = zip(g, hat).map(*)
                #expect(abs(Double(gainGradient[c]) - terms.reduce(0, +)) <= (n + 1) * u * terms.map(abs).reduce(0, +))
                #expect(abs(Double(biasGradient[c]) - g.reduce(0, +)) <= (n + 1) * u * g.map(abs).reduce(0, +))
            }
        }
    }

    /// With the running statistics: μ and σ² read, not written; y from them, and dx = γ·(1/σ)·dy.
    /// With the fused ReLU: `max(y, 0)` (NaN kept, −0 made 0), and dy passes only where y > 0.
    @Test(arguments: levels)
    func runningStatisticsAndTheFusedReLU(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 47)
        let u = Self.u
        let shape = Case(rows: 3, channels: 2, positions: 21, range: 0..<2)
        let count = shape.rows * shape.width
        var x = (0..<count).map { _ in Float.random(in: -2...2, using: &generator) }
        x[5] = .nan
        let dy = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
        let (gain, bias): ([Float], [Float]) = ([-1.25, 0.5], [-0.0, -0.25])
        // Channel 0's x = 0.5 makes γ·x̂ + β = −0 (x̂ = 0 with μ = 0.5, γ < 0, β = −0).
        x[shape.offset(1, 0, 3)] = 0.5
        var (mean, variance, inverse): ([Float], [Float], [Float]) = ([0.5, -0.125], [0.75, 2], [0, 0])
        for rectify in [false, true] {
            var y = [Float](repeating: 7, count: count)
            loops.batchNorm(
                x, rows: shape.rows, channelCount: shape.channels, positions: shape.positions, channels: shape.range,
                gain: gain, bias: bias, epsilon: 1e-5, batchStatistics: false, rectify: rectify, mean: &mean,
                variance: &variance, into: &y, inverseDeviation: &inverse)
            #expect(mean == [0.5, -0.125] && variance == [0.75, 2], "\(loops.level): the running statistics are read")
            var (dx, gainGradient, biasGradient) = ([Float](repeating: 7, count: count), [Float](repeating: 7, count: 2),
                                                    [Float](repeating: 7, count: 2))
            loops.batchNormBackward(
                dy, input: x, mean: mean, inverseDeviation: inverse, rows: shape.rows, channelCount: shape.channels,
                positions: shape.positions, channels: shape.range, gain: gain, batchStatistics: false,
                rectifiedOutput: rectify ? y : nil, into: &dx, gainGradient: &gainGradient, biasGradient: &biasGradient)
            for c in 0..<2 {
                let inv = 1 / (Double(variance[c]) + Double(Float(1e-5))).squareRoot()
                #expect(abs(Double(inverse[c]) - inv) <= 3 * u * inv)   // σ² + ε, the root, the division
                for b in 0..<shape.rows {
                    for p in 0..<shape.positions {
                        let e = shape.offset(b, c, p)
                        let normalized = Double(gain[c]) * (Double(x[e]) - Double(mean[c])) * inv + Double(bias[c])
                        if x[e].isNaN {   // x̂·mean(dy·x̂) is NaN·0: the gradient too, masked or not
                            #expect(y[e].isNaN && dx[e].isNaN, "\(loops.level): NaN at \(e)")
                            continue
                        }
                        // 1/σ within 3u, then x − μ, two products and the sum: one rounding each.
                        let want = rectify ? max(normalized, 0) : normalized
                        let bound = 6 * u * (abs(normalized) + abs(Double(bias[c])))
                        #expect(abs(Double(y[e]) - want) <= bound, "\(loops.level): y at \(e)")
                        if rectify && normalized == 0 { #expect(y[e] == 0 && y[e].sign == .plus, "−0 made 0") }
                        let passes = !rectify || y[e] > 0
                        let wantDx = passes ? Double(gain[c]) * Double(inverse[c]) * Double(dy[e]) : 0
                        #expect(abs(Double(dx[e]) - wantDx) <= 2 * u * abs(wantDx), "\(loops.level): dx at \(e)")
                    }
                }
            }
            if rectify { #expect(y.contains(0) && y.contains { $0 > 0 }, "both sides of the ReLU") }
        }
    }
}
