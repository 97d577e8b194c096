import NGPlus

/// The loops of `BatchNorm` and `GlobalAveragePool`, reached through `NetworkScalar` so that
/// they run compiled for their scalar. The input is sample-major, `rows × (channels · positions)`: channel c of sample b is
/// the `positions` values from column `c · positions` (one after a dense layer, the H·W pixels
/// after a convolution). Sums over a channel's values run in lanes (`laneSum`,
/// `laneSquaredDeviations`, `laneDotNormalized`); the channels, independent, are shared by the
/// cores (`ParallelLoop`) in chunks of at least 2¹⁴ values. No matrix of x̂ is kept: each pass
/// forms `x̂ = (x − μ)·(1/σ)` from the layer's input where it uses it, with the operations of
/// the forward pass, so the same values.
extension NetworkKernels {
    /// Normalizes every channel over its `rows · positions` values: `x̂ = (x − μ)/√(σ² + ε)`,
    /// `y = γ·x̂ + β`, or `max(0, γ·x̂ + β)` with `rectify` (a ReLU after it, fused: the same
    /// values, one pass fewer). With `batchStatistics`, μ and σ² (the biased variance, two
    /// passes) are computed and written to `mean` and `variance`; otherwise they are read from
    /// them (the running averages). Keeps 1/√(σ² + ε) per channel, beside μ, for the backward
    /// pass.
    static func batchNorm<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Scalar>,
        bias: UnsafePointer<Scalar>, epsilon: Scalar, batchStatistics: Bool, rectify: Bool,
        mean: UnsafeMutablePointer<Scalar>, variance: UnsafeMutablePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>,
        inverseDeviation: UnsafeMutablePointer<Scalar>
    ) {
        let (width, count) = (channels * positions, Scalar(rows * positions))
        // max(v, −∞) is v, NaN and −0 included (`Swift.max` returns its first argument unless
        // the second is at least as large); max(v, 0) is `relu`'s.
        let floor: Scalar = rectify ? 0 : -.infinity
        forEachChannelChunk(channels, values: rows * positions) { channelRange in for c in channelRange {
            if batchStatistics {
                var sum: Scalar = 0
                for b in 0..<rows { sum += laneSum(x + b * width + c * positions, count: positions) }
                let average = sum / count
                var squares: Scalar = 0
                for b in 0..<rows {
                    squares += laneSquaredDeviations(x + b * width + c * positions, from: average, count: positions)
                }
                mean[c] = average
                variance[c] = squares / count
            }
            let (average, inverse) = (mean[c], 1 / (variance[c] + epsilon).squareRoot())
            inverseDeviation[c] = inverse
            for b in 0..<rows {
                let offset = b * width + c * positions
                let (row, out) = (x + offset, y + offset)
                for p in 0..<positions { out[p] = Swift.max((row[p] - average) * inverse * gain[c] + bias[c], floor) }
            }
        } }
    }

    /// The gradients of `batchNorm`: per channel `∂γ = Σ dy·x̂`, `∂β = Σ dy` over its values, and
    /// `dx = γ·(1/σ)·(dy − mean(dy) − x̂·mean(dy·x̂))` when the forward pass used the batch's
    /// statistics (they depend on x), `dx = γ·(1/σ)·dy` when it used the running ones. With
    /// `rectifiedOutput` (the forward pass's y of a fused ReLU), dy is first `y > 0 ? dy : 0`,
    /// as `reluBackward` makes it. Each channel's dy is copied (or masked) into its place in dx,
    /// where it stays in cache for the sums and the pass that turns it into dx in place.
    static func batchNormBackward<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, input x: UnsafePointer<Scalar>, mean: UnsafePointer<Scalar>,
        inverseDeviation: UnsafePointer<Scalar>, rows: Int, channels: Int, positions: Int, gain: UnsafePointer<Scalar>,
        batchStatistics: Bool, rectifiedOutput: UnsafePointer<Scalar>?, into dx: UnsafeMutablePointer<Scalar>,
        gainGradient: UnsafeMutablePointer<Scalar>, biasGradient: UnsafeMutablePointer<Scalar>
    ) {
        let (width, count) = (channels * positions, Scalar(rows * positions))
        forEachChannelChunk(channels, values: rows * positions) { channelRange in for c in channelRange {
            let (average, inverse) = (mean[c], inverseDeviation[c])
            var (sum, weighted): (Scalar, Scalar) = (0, 0)
            for b in 0..<rows {
                let offset = b * width + c * positions
                let (grad, out) = (dy + offset, dx + offset)
                if let y = rectifiedOutput {
                    reluBackward(output: y + offset, outputGradient: grad, into: out, count: positions)
                } else {
                    out.update(from: grad, count: positions)
                }
                sum += laneSum(out, count: positions)
                weighted += laneDotNormalized(out, x + offset, center: average, scale: inverse, count: positions)
            }
            gainGradient[c] = weighted
            biasGradient[c] = sum
            let scale = gain[c] * inverse
            let (meanGradient, meanWeighted) = batchStatistics ? (sum / count, weighted / count) : (0, 0)
            for b in 0..<rows {
                let offset = b * width + c * positions
                let (row, out) = (x + offset, dx + offset)
                for p in 0..<positions {
                    out[p] = scale * (out[p] - meanGradient - (row[p] - average) * inverse * meanWeighted)
                }
            }
        } }
    }

    /// Per channel, the sum of its `rows · positions` values, or with `center` the sum of their
    /// squared distances from `center[c]`: the two passes of `batchNorm`'s statistics, for a
    /// batch whose sums are completed over other processes' rows before μ, then σ², is formed.
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
    public static func averagePool<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, planes: Int, positions: Int, into y: UnsafeMutablePointer<Scalar>
    ) {
        let count = Scalar(positions)
        for plane in 0..<planes { y[plane] = laneSum(x + plane * positions, count: positions) / count }
    }

    /// Its gradient: each plane's `positions` values get `dy/positions`.
    @inlinable
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
