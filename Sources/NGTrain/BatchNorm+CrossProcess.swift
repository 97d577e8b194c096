import NGPlus

/// Synchronized batch normalization: in data-parallel training (`Model.register(with:)` of a
/// `SynchronizedOptimizer` that has `crossProcessSums`) μ and σ² are the whole batch's, over
/// every process's rows, and so is the backward pass's `mean(dy)` and `mean(dy·x̂)`: the same
/// step as one process on the whole batch, up to the order of the sums. Three sums a training
/// step: Σx, then Σ(x − μ)² (two passes, as on one process), then Σdy and Σdy·x̂.
extension BatchNorm {
    /// Normalizes by the sums of `crossProcessSums`, whose every call takes `length` values.
    func synchronize(with sums: any CrossProcessSums, length: Int) {
        crossProcessSums = sums
        statistics = [Double](repeating: 0, count: length)
        statisticsGradient = Matrix(rows: 1, columns: 2 * channels)
    }

    /// μ and σ² of the whole batch into `mean` and `variance`; returns the batch's values a channel.
    func synchronizedStatistics(_ x: Matrix<Scalar>, _ sums: any CrossProcessSums) -> Int {
        let (rows, channels, positions) = (x.rows, channels, positions)
        x.withView { x in
            mean.withMutableView { m in
                NetworkKernels.batchNormSums(x.base, rows: rows, channels: channels, positions: positions, center: nil, into: m.base)
            }
        }
        load(mean, count: Double(rows * positions))
        sums.sum(&statistics)
        let count = statistics[channels]
        for c in 0..<channels { mean[0, c] = Scalar(statistics[c] / count) }
        x.withView { x in
            mean.withView { m in
                variance.withMutableView { v in
                    NetworkKernels.batchNormSums(
                        x.base, rows: rows, channels: channels, positions: positions, center: m.base, into: v.base)
                }
            }
        }
        load(variance, count: count)
        sums.sum(&statistics)
        for c in 0..<channels { variance[0, c] = Scalar(statistics[c] / count) }
        return Int(count)
    }

    /// Completes the input gradient `inputGradient = γ·(1/σ)·dy` (the backward kernel's without
    /// batch statistics) with the whole batch's `mean(dy)` and `mean(dy·x̂)`. This process's
    /// dy is of the mean loss over its rows: the whole batch's is it times `localShare`, and
    /// the input gradient handed back is again of this process's mean loss.
    func completeSynchronizedGradient(rows: Int, _ sums: any CrossProcessSums) {
        let (channels, positions, share, count) = (channels, positions, sums.localShare, batchValues)
        for i in statistics.indices { statistics[i] = 0 }
        for c in 0..<channels {
            statistics[c] = share * Double(gradient[0, channels + c])
            statistics[channels + c] = share * Double(gradient[0, c])
        }
        sums.sum(&statistics)
        for c in 0..<2 * channels { statisticsGradient[0, c] = Scalar(statistics[c] / (count * share)) }
        withViews(input, inverseDeviation, mutating: &inputGradient) { x, inverse, dx in
            weight.withView { w in
                mean.withView { m in
                    statisticsGradient.withView { means in
                        NetworkKernels.batchNormStatisticsGradient(
                            input: x.base, mean: m.base, inverseDeviation: inverse.base, rows: rows,
                            channels: channels, positions: positions, gain: w.base, meanGradient: means.base,
                            meanWeighted: means.columns(channels..<2 * channels).base, into: dx.base)
                    }
                }
            }
        }
    }

    /// `statistics` ← this process's sums of every channel (`sums`, 1 × channels), then `count`.
    func load(_ sums: Matrix<Scalar>, count: Double) {
        for i in statistics.indices { statistics[i] = 0 }
        for c in 0..<channels { statistics[c] = Double(sums[0, c]) }
        statistics[channels] = count
    }
}
