import NGKernels
import NGTestSupport
import Testing

/// Batch normalization's four Float passes (`FloatLoops.batchNormMoments`, `batchNormApply`,
/// `batchNormGradientSums`, `batchNormGradientApply`) at every vector level this machine
/// offers, against Double from the same Float inputs, on a range of rows with the others left
/// untouched: runs of one value to 33, one channel to four, a single row. Bounds from the
/// roundings, u the unit roundoff and P a run's values: a run's sum (sixteen lanes, then the
/// lanes) within (P + 1)·u of the sum of its terms' magnitudes; each formed value
/// (x − μ)·(1/σ)·γ + β or s·(dy − a − x̂·w) within one rounding an operation of the magnitudes
/// it combines. The fused ReLU keeps a NaN and makes −0 into 0, and its mask passes dy only
/// where y > 0.
@Suite struct FloatBatchNormTests {
    static let levels: [FloatLoops] = [VectorLevel.sse, .avx2, .avx512].compactMap { FloatLoops(level: $0) }
    static let u = Double(Float.ulpOfOne) / 2

    struct Shape {
        var rows: Int, channels: Int, positions: Int, range: Range<Int>
        var width: Int { channels * positions }
        func offset(_ b: Int, _ c: Int, _ p: Int) -> Int { b * width + c * positions + p }
    }

    static let shapes = [
        Shape(rows: 1, channels: 1, positions: 1, range: 0..<1), Shape(rows: 3, channels: 2, positions: 7, range: 1..<3),
        Shape(rows: 4, channels: 4, positions: 17, range: 0..<2), Shape(rows: 2, channels: 1, positions: 33, range: 0..<2),
        Shape(rows: 3, channels: 3, positions: 49, range: 2..<3),
    ]

    @Test(arguments: levels)
    func passesMatchADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 46)
        let u = Self.u
        for shape in Self.shapes {
            let (count, channels) = (shape.rows * shape.width, shape.channels)
            func random(_ n: Int, _ range: ClosedRange<Float>) -> [Float] {
                (0..<n).map { _ in Float.random(in: range, using: &generator) }
            }
            let (x, dy) = (random(count, 1...5), random(count, -1...1))
            let (gain, bias, mean) = (random(channels, 0.5...1.5), random(channels, -1...1), random(channels, 2...4))
            let (inverse, scale) = (random(channels, 0.5...2), random(channels, 0.5...2))
            let (meanGradient, meanWeighted) = (random(channels, -0.1...0.1), random(channels, -0.1...0.1))
            var moments = [Float](repeating: 7, count: 2 * shape.rows * channels)
            var y = [Float](repeating: 7, count: count)
            var (dx, sums) = ([Float](repeating: 7, count: count), [Float](repeating: 7, count: 2 * shape.rows * channels))
            loops.batchNormMoments(x, rows: shape.range, channels: channels, positions: shape.positions, into: &moments)
            loops.batchNormApply(
                x, rows: shape.range, channels: channels, positions: shape.positions, mean: mean,
                inverseDeviation: inverse, gain: gain, bias: bias, rectify: false, into: &y)
            loops.batchNormGradientSums(
                dy, rectifiedOutput: nil, input: x, rows: shape.range, channels: channels, positions: shape.positions,
                mean: mean, inverseDeviation: inverse, into: &dx, sums: &sums)
            #expect(dx == zip(dx, dy).enumerated().map { shape.range.contains($0.offset / shape.width) ? $0.element.1 : 7 })
            var gradient = dx
            loops.batchNormGradientApply(
                input: x, rows: shape.range, channels: channels, positions: shape.positions, mean: mean,
                inverseDeviation: inverse, scale: scale, meanGradient: meanGradient, meanWeighted: meanWeighted,
                into: &gradient)
            let p = Double(shape.positions)
            for b in 0..<shape.rows {
                for c in 0..<channels {
                    let slot = 2 * (b * channels + c)
                    let run = (0..<shape.positions).map { shape.offset(b, c, $0) }
                    guard shape.range.contains(b) else {
                        #expect(moments[slot] == 7 && sums[slot + 1] == 7, "\(loops.level): row \(b) untouched")
                        #expect(run.allSatisfy { y[$0] == 7 && gradient[$0] == 7 }, "\(loops.level): row \(b) untouched")
                        continue
                    }
                    let values = run.map { Double(x[$0]) }
                    let exact = values.reduce(0, +) / p
                    let m = Double(moments[slot])
                    #expect(abs(m - exact) <= (p + 1) * u * values.map(abs).max()!, "\(loops.level): mean (\(b), \(c))")
                    let squares = values.map { ($0 - m) * ($0 - m) }.reduce(0, +)
                    #expect(abs(Double(moments[slot + 1]) - squares) <= (p + 3) * u * squares, "\(loops.level): Σ(x − m)²")
                    // x̂ as the loops form it, in Float: x − μ, then times 1/σ.
                    let hat = run.map { Double((x[$0] - mean[c]) * inverse[c]) }
                    let grads = run.map { Double(dy[$0]) }
                    let sum = grads.reduce(0, +), weighted = zip(grads, hat).map(*).reduce(0, +)
                    #expect(abs(Double(sums[slot]) - sum) <= (p + 1) * u * grads.map(abs).reduce(0, +))
                    #expect(abs(Double(sums[slot + 1]) - weighted) <= (p + 1) * u * zip(grads, hat).map { abs($0 * $1) }.reduce(0, +))
                    for (k, e) in run.enumerated() {
                        let normalized = Double(gain[c]) * (values[k] - Double(mean[c])) * Double(inverse[c])
                        let wantY = normalized + Double(bias[c])
                        #expect(abs(Double(y[e]) - wantY) <= 4 * u * (abs(normalized) + abs(Double(bias[c]))),
                                "\(loops.level): y at (\(b), \(c))")
                        let inner = grads[k] - Double(meanGradient[c]) - hat[k] * Double(meanWeighted[c])
                        let wantDx = Double(scale[c]) * inner
                        let bound = Double(scale[c]) * 4 * u
                            * (abs(grads[k]) + abs(Double(meanGradient[c])) + abs(hat[k] * Double(meanWeighted[c])))
                            + u * abs(wantDx)
                        #expect(abs(Double(gradient[e]) - wantDx) <= bound, "\(loops.level): dx at (\(b), \(c))")
                    }
                }
            }
        }
    }

    /// With `rectify`: `max(y, 0)`, a NaN kept and −0 made 0; the gradient's first pass then
    /// passes dy only where the forward pass's y is above 0.
    @Test(arguments: levels)
    func theFusedReLUAndItsMask(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 47)
        let shape = Shape(rows: 3, channels: 2, positions: 21, range: 0..<3)
        let count = shape.rows * shape.width
        var x = (0..<count).map { _ in Float.random(in: -2...2, using: &generator) }
        x[5] = .nan
        x[shape.offset(1, 0, 3)] = 0.5   // γ < 0 and β = −0 make it −0 before the ReLU
        let dy = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
        let (gain, bias, mean, inverse): ([Float], [Float], [Float], [Float]) = ([-1.25, 0.5], [-0.0, -0.25], [0.5, -0.125],
                                                                                 [1.5, 0.75])
        var (plain, rectified) = ([Float](repeating: 7, count: count), [Float](repeating: 7, count: count))
        loops.batchNormApply(
            x, rows: shape.range, channels: 2, positions: shape.positions, mean: mean, inverseDeviation: inverse,
            gain: gain, bias: bias, rectify: false, into: &plain)
        loops.batchNormApply(
            x, rows: shape.range, channels: 2, positions: shape.positions, mean: mean, inverseDeviation: inverse,
            gain: gain, bias: bias, rectify: true, into: &rectified)
        for e in 0..<count {
            if plain[e].isNaN {
                #expect(rectified[e].isNaN, "\(loops.level): a NaN is kept")
            } else {
                #expect(rectified[e] == max(plain[e], 0) && rectified[e].sign == max(plain[e], 0).sign)
            }
        }
        let zero = shape.offset(1, 0, 3)
        #expect(plain[zero] == 0 && plain[zero].sign == .minus && rectified[zero].sign == .plus, "−0 made 0")
        #expect(rectified.contains(0) && rectified.contains { $0 > 0 }, "both sides of the ReLU")
        var (dx, sums) = ([Float](repeating: 7, count: count), [Float](repeating: 7, count: 4 * shape.rows))
        loops.batchNormGradientSums(
            dy, rectifiedOutput: rectified, input: x, rows: shape.range, channels: 2, positions: shape.positions,
            mean: mean, inverseDeviation: inverse, into: &dx, sums: &sums)
        #expect(dx == (0..<count).map { rectified[$0] > 0 ? dy[$0] : 0 }, "\(loops.level): the mask")
    }
}
