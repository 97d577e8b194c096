import NGPlus

/// The loops of `BatchNorm` and `GlobalAveragePool`, reached through `NetworkScalar` so that
/// they run compiled for their scalar. The input is sample-major, `rows × (channels · positions)`:
/// channel c of sample b is the `positions` values from column `c · positions` (one after a
/// dense layer, the H·W pixels after a convolution). Batch normalization's passes read whole
/// rows front to back, the rows shared by the cores (`ParallelLoop`, at least 2¹⁴ values a
/// chunk): a channel's values across the batch are short runs a row apart, which memory serves
/// slowly one run at a time. The passes write per-sample figures into a workspace of the
/// layer's, combined over the batch in the order of the samples, so the results do not depend
/// on the thread count. No matrix of x̂ is kept: each pass forms `x̂ = (x − μ)·(1/σ)` from the
/// layer's input where it uses it, with the operations of the forward pass, so the same values.
extension NetworkKernels {
    /// The values of `workspace` that `batchNorm` and `batchNormBackward` use: two a sample and
    /// channel, and three a channel.
    static func batchNormWorkspace(rows: Int, channels: Int) -> Int { (2 * rows + 3) * channels }

    /// Normalizes every channel over its `rows · positions` values: `x̂ = (x − μ)/√(σ² + ε)`,
    /// `y = γ·x̂ + β`, or `max(0, γ·x̂ + β)` with `rectify` (a ReLU after it, fused: the same
    /// values, one pass fewer). With `batchStatistics`, μ and σ² (the biased variance) are
    /// computed and written to `mean` and `variance`: each sample's channel mean mᵢ and squared
    /// deviations Mᵢ (`batchNormMoments`), then μ = mean(mᵢ) and
    /// `σ² = (Σ Mᵢ + P·Σ (mᵢ − μ)²)/(B·P)` — the two-pass variance, exactly, split by sample, as
    /// stable; otherwise they are read from them (the running averages). Keeps 1/√(σ² + ε) per
    /// channel, beside μ, for the backward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func batchNorm<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Scalar>,
        bias: UnsafePointer<Scalar>, epsilon: Scalar, batchStatistics: Bool, rectify: Bool,
        mean: UnsafeMutablePointer<Scalar>, variance: UnsafeMutablePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>,
        inverseDeviation: UnsafeMutablePointer<Scalar>, workspace: UnsafeMutablePointer<Scalar>
    ) {
        let width = channels * positions
        if batchStatistics {
            forEachRowChunk(rows, width: width) { chunk in
                Scalar.batchNormMoments(x, rows: chunk, channels: channels, positions: positions, into: workspace)
            }
            let (samples, count) = (Scalar(rows), Scalar(rows * positions))
            for c in 0..<channels {
                var sum: Scalar = 0
                for b in 0..<rows { sum += workspace[2 * (b * channels + c)] }
                let average = sum / samples
                var (squares, spread): (Scalar, Scalar) = (0, 0)
                for b in 0..<rows {
                    let deviation = workspace[2 * (b * channels + c)] - average
                    squares += workspace[2 * (b * channels + c) + 1]
                    spread += deviation * deviation
                }
                mean[c] = average
                variance[c] = (squares + Scalar(positions) * spread) / count
            }
        }
        for c in 0..<channels { inverseDeviation[c] = 1 / (variance[c] + epsilon).squareRoot() }
        forEachRowChunk(rows, width: width) { chunk in
            Scalar.batchNormApply(
                x, rows: chunk, channels: channels, positions: positions, mean: mean, inverseDeviation: inverseDeviation,
                gain: gain, bias: bias, rectify: rectify, into: y)
        }
    }

    /// The gradients of `batchNorm`: per channel `∂γ = Σ dy·x̂`, `∂β = Σ dy` over its values, and
    /// `dx = γ·(1/σ)·(dy − mean(dy) − x̂·mean(dy·x̂))` when the forward pass used the batch's
    /// statistics (they depend on x), `dx = γ·(1/σ)·dy` when it used the running ones. With
    /// `rectifiedOutput` (the forward pass's y of a fused ReLU), dy is first `y > 0 ? dy : 0`,
    /// as `reluBackward` makes it. The first pass copies (or masks) dy into dx and sums each
    /// sample's channel (`batchNormGradientSums`); the sums are added in the order of the
    /// samples; the second pass turns dx into the gradient in place.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func batchNormBackward<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, input x: UnsafePointer<Scalar>, mean: UnsafePointer<Scalar>,
        inverseDeviation: UnsafePointer<Scalar>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Scalar>,
        batchStatistics: Bool, rectifiedOutput: UnsafePointer<Scalar>?, into dx: UnsafeMutablePointer<Scalar>,
        gainGradient: UnsafeMutablePointer<Scalar>, biasGradient: UnsafeMutablePointer<Scalar>,
        workspace: UnsafeMutablePointer<Scalar>
    ) {
        let width = channels * positions
        forEachRowChunk(rows, width: width) { chunk in
            Scalar.batchNormGradientSums(
                dy, rectifiedOutput: rectifiedOutput, input: x, rows: chunk, channels: channels, positions: positions,
                mean: mean, inverseDeviation: inverseDeviation, into: dx, sums: workspace)
        }
        let count = Scalar(rows * positions)
        let scale = workspace + 2 * rows * channels
        let (meanGradient, meanWeighted) = (scale + channels, scale + 2 * channels)
        for c in 0..<channels {
            var (sum, weighted): (Scalar, Scalar) = (0, 0)
            for b in 0..<rows {
                sum += workspace[2 * (b * channels + c)]
                weighted += workspace[2 * (b * channels + c) + 1]
            }
            gainGradient[c] = weighted
            biasGradient[c] = sum
            scale[c] = gain[c] * inverseDeviation[c]
            (meanGradient[c], meanWeighted[c]) = batchStatistics ? (sum / count, weighted / count) : (0, 0)
        }
        forEachRowChunk(rows, width: width) { chunk in
            Scalar.batchNormGradientApply(
                input: x, rows: chunk, channels: channels, positions: positions, mean: mean,
                inverseDeviation: inverseDeviation, scale: scale, meanGradient: meanGradient, meanWeighted: meanWeighted,
                into: dx)
        }
    }

    /// For each run of the samples `rows` (sample b's channel c, run b·channels + c, at that times
    /// `positions`): its mean m into `moments[2·run]` and `Σ (x − m)²` into the next slot.
    static func batchNormMoments<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, rows: Range<Int>, channels: Int, positions: Int,
        into moments: UnsafeMutablePointer<Scalar>
    ) {
        for run in rows.lowerBound * channels..<rows.upperBound * channels {
            let values = x + run * positions
            let average = laneSum(values, count: positions) / Scalar(positions)
            moments[2 * run] = average
            moments[2 * run + 1] = laneSquaredDeviations(values, from: average, count: positions)
        }
    }

    /// `y = γ·x̂ + β` (or its ReLU with `rectify`) for the samples `rows`. `max(v, −∞)` is v,
    /// NaN and −0 included (`Swift.max` returns its first argument unless the second is at
    /// least as large); `max(v, 0)` is `relu`'s.
    static func batchNormApply<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Scalar>,
        inverseDeviation: UnsafePointer<Scalar>, gain: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>,
        rectify: Bool, into y: UnsafeMutablePointer<Scalar>
    ) {
        let floor: Scalar = rectify ? 0 : -.infinity
        for run in rows.lowerBound * channels..<rows.upperBound * channels {
            let c = run % channels
            let (values, out) = (x + run * positions, y + run * positions)
            let (average, inverse, scale, shift) = (mean[c], inverseDeviation[c], gain[c], bias[c])
            for p in 0..<positions { out[p] = Swift.max((values[p] - average) * inverse * scale + shift, floor) }
        }
    }

    /// dy (masked by `rectifiedOutput > 0` when given) into dx, and for each run of the samples
    /// `rows` its `Σ dy` into `sums[2·run]` and `Σ dy·x̂` into the next slot.
    static func batchNormGradientSums<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, rectifiedOutput: UnsafePointer<Scalar>?, input x: UnsafePointer<Scalar>,
        rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Scalar>,
        inverseDeviation: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>,
        sums: UnsafeMutablePointer<Scalar>
    ) {
        for run in rows.lowerBound * channels..<rows.upperBound * channels {
            let (c, offset) = (run % channels, run * positions)
            let gradient = dx + offset
            if let y = rectifiedOutput {
                reluBackward(output: y + offset, outputGradient: dy + offset, into: gradient, count: positions)
            } else {
                gradient.update(from: dy + offset, count: positions)
            }
            sums[2 * run] = laneSum(gradient, count: positions)
            sums[2 * run + 1] = laneDotNormalized(
                gradient, x + offset, center: mean[c], scale: inverseDeviation[c], count: positions)
        }
    }

    /// dx, holding dy, becomes `scale·(dy − meanGradient − x̂·meanWeighted)` for the samples `rows`.
    static func batchNormGradientApply<Scalar: NetworkScalar>(
        input x: UnsafePointer<Scalar>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Scalar>,
        inverseDeviation: UnsafePointer<Scalar>, scale: UnsafePointer<Scalar>, meanGradient: UnsafePointer<Scalar>,
        meanWeighted: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>
    ) {
        for run in rows.lowerBound * channels..<rows.upperBound * channels {
            let c = run % channels
            let (values, gradient) = (x + run * positions, dx + run * positions)
            let (average, inverse, factor) = (mean[c], inverseDeviation[c], scale[c])
            let (shift, slope) = (meanGradient[c], meanWeighted[c])
            for p in 0..<positions {
                gradient[p] = factor * (gradient[p] - shift - (values[p] - average) * inverse * slope)
            }
        }
    }

    /// `body` on chunks of whole rows of `width` values, shared by the cores: at least 2¹⁴
    /// values a chunk, so that a chunk is worth a core.
    static func forEachRowChunk(_ rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
        ParallelLoop.forEachChunk(rows, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(1, width)), body)
    }

    /// Per channel, the sum of its `rows · positions` values, or with `center` the sum of their
    /// squared distances from `center[c]`: the two passes of `batchNorm`'s statistics, for a
    /// batch whose sums are completed over other processes' rows before μ, then σ², is formed.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func batchNormSums<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, rows: Int, channels: Int, positions: Int, center: UnsafePointer<Scalar>?,
        into sums: UnsafeMutablePointer<Scalar>
    ) {
        let width = channels * positions
        forEachChannelChunk(channels, values: rows * positions) { channelRange in for c in channelRange {
            var sum: Scalar = 0
            for b in 0..<rows {
                let offset = b * width + c * positions
                if let center {
                    sum += laneSquaredDeviations(x + offset, from: center[c], count: positions)
                } else {
                    sum += laneSum(x + offset, count: positions)
                }
            }
            sums[c] = sum
        } }
    }

    /// The part of `batchNormBackward`'s dx that the batch's statistics add, from the whole
    /// batch's `mean(dy)` and `mean(dy·x̂)` per channel: `dx −= γ·(1/σ)·(mean(dy) + x̂·mean(dy·x̂))`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func batchNormStatisticsGradient<Scalar: NetworkScalar>(
        input x: UnsafePointer<Scalar>, mean: UnsafePointer<Scalar>, inverseDeviation: UnsafePointer<Scalar>,
        rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Scalar>, meanGradient: UnsafePointer<Scalar>,
        meanWeighted: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let width = channels * positions
        forEachChannelChunk(channels, values: rows * positions) { channelRange in for c in channelRange {
            let (average, inverse) = (mean[c], inverseDeviation[c])
            let (scale, shift, slope) = (gain[c] * inverse, meanGradient[c], meanWeighted[c])
            for b in 0..<rows {
                let offset = b * width + c * positions
                let (row, out) = (x + offset, dx + offset)
                for p in 0..<positions { out[p] -= scale * (shift + (row[p] - average) * inverse * slope) }
            }
        } }
    }

    /// The mean of each of `planes` runs of `positions` values (global average pooling).
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func averagePool<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, planes: Int, positions: Int, into y: UnsafeMutablePointer<Scalar>
    ) {
        let count = Scalar(positions)
        for plane in 0..<planes { y[plane] = laneSum(x + plane * positions, count: positions) / count }
    }

    /// Its gradient: each plane's `positions` values get `dy/positions`.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func averagePoolBackward<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, planes: Int, positions: Int, into dx: UnsafeMutablePointer<Scalar>
    ) {
        let count = Scalar(positions)
        for plane in 0..<planes {
            let (share, row) = (dy[plane] / count, dx + plane * positions)
            for p in 0..<positions { row[p] = share }
        }
    }

    /// `body` on chunks of whole channels, `values` values each, shared by the cores: at least
    /// 2¹⁴ values a chunk, so that a chunk is worth a core.
    static func forEachChannelChunk(_ channels: Int, values: Int, _ body: (Range<Int>) -> Void) {
        ParallelLoop.forEachChunk(channels, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(1, values)), body)
    }
}
