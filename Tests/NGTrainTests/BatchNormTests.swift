import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// `BatchNorm` against hand-checked values and central finite differences in Double (input and
/// `[γ | β]`, dense and convolution layouts, a batch of one sample of several positions, with
/// and without the fused ReLU), the fused ReLU against `BatchNorm` then `ReLU`, its running averages (staged by a training forward, in use only after a step that succeeded,
/// used by `Model.forward`), and its bad input.
@Suite struct BatchNormTests {
    @Test func handCheckedValuesPerChannel() throws {
        // Two channels of two positions, two samples: channel 0 holds 1, 3, 5, 7; channel 1
        // holds 2, 2, 2, 2 (no variance: x̂ = 0, y = β).
        let norm = try BatchNorm<Double>(channels: 2, positions: 2)
        norm.weight = try Matrix(rows: 1, columns: 4, elements: [2, 1, 0, 5])   // γ = (2, 1), β = (0, 5)
        let x = try Matrix<Double>(rows: 2, columns: 4, elements: [1, 3, 2, 2, 5, 7, 2, 2])
        let y = try norm.forward(x)
        let s = 1 / (5.0 + 1e-5).squareRoot()   // mean 4, biased variance (9 + 1 + 1 + 9)/4 = 5
        let expected = [-6 * s, -2 * s, 5, 5, 2 * s, 6 * s, 5, 5]
        for (value, want) in zip(y.elements, expected) { #expect(abs(value - want) < 1e-14) }
    }

    @Test(arguments: [(5, 3, 1), (2, 2, 4), (1, 2, 3), (3, 1, 9)], [false, true])
    func gradientsMatchFiniteDifferences(shape: (rows: Int, channels: Int, positions: Int), rectify: Bool) throws {
        let (rows, channels, positions) = shape
        var generator = SeededGenerator(seed: 401)
        let norm = try BatchNorm<Double>(channels: channels, positions: positions, rectify: rectify)
        norm.weight = Matrix.random(rows: 1, columns: 2 * channels, using: &generator)
        let x = Matrix<Double>.random(rows: rows, columns: channels * positions, scale: 2, using: &generator)
        let g = Matrix<Double>.random(rows: rows, columns: channels * positions, using: &generator)
        _ = try norm.forward(x)
        let dx = try norm.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try norm.forward($0) }, analytic: dx) < 1e-6)
        #expect(try parameterFiniteDifferenceError(norm, input: x, upstream: g) < 1e-6)
        // In evaluation the statistics are constants: the gradient of the running-average form.
        norm.usesBatchStatistics = false
        _ = try norm.forward(x)
        let evaluated = try norm.backward(g)
        #expect(try finiteDifferenceError(input: x, upstream: g, forward: { try norm.forward($0) }, analytic: evaluated) < 1e-6)
    }

    /// `BatchNorm(rectify: true)` against `BatchNorm` then `ReLU`: the same bits forward and
    /// backward, `[∂γ | ∂β]` included, in training and in evaluation, in Float and in Double.
    @Test(arguments: [(5, 3, 1), (1, 1, 3), (2, 2, 4), (3, 1, 9), (4, 3, 8192)])
    func rectifiedIsNormalizationThenReLUToTheBit(rows: Int, channels: Int, positions: Int) throws {
        try expectRectifiedMatchesComposition(Float.self, rows: rows, channels: channels, positions: positions)
        try expectRectifiedMatchesComposition(Double.self, rows: rows, channels: channels, positions: positions)
    }

    func expectRectifiedMatchesComposition<Scalar: NetworkScalar>(
        _: Scalar.Type, rows: Int, channels: Int, positions: Int
    ) throws {
        var generator = SeededGenerator(seed: 404)
        let fused = try BatchNorm<Scalar>(channels: channels, positions: positions, rectify: true)
        let (norm, relu) = (try BatchNorm<Scalar>(channels: channels, positions: positions), ReLU<Scalar>())
        let weight = Matrix<Scalar>.random(rows: 1, columns: 2 * channels, using: &generator)
        (fused.weight, norm.weight) = (weight, weight)
        let x = Matrix<Scalar>.random(rows: rows, columns: channels * positions, scale: 2, using: &generator)
        let g = Matrix<Scalar>.random(rows: rows, columns: channels * positions, using: &generator)
        func same(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>) -> Bool {
            a.shape == b.shape && zip(a.elements, b.elements).allSatisfy { $0 == $1 && $0.sign == $1.sign }
        }
        for batchStatistics in [true, false] {
            (fused.usesBatchStatistics, norm.usesBatchStatistics) = (batchStatistics, batchStatistics)
            let y = try fused.forward(x)
            #expect(same(y, try relu.forward(norm.forward(x))), "\(Scalar.self) forward, batch statistics \(batchStatistics)")
            #expect(y.elements.contains(0) && y.elements.contains { $0 > 0 }, "both sides of the ReLU")
            let dx = try fused.backward(g)
            #expect(same(dx, try norm.backward(relu.backward(g))), "\(Scalar.self) backward, batch statistics \(batchStatistics)")
            #expect(same(fused.parameterGradient, norm.parameterGradient), "\(Scalar.self) [∂γ | ∂β]")
        }
    }

    /// Channels of 2¹⁴ values each, shared by two threads, against the formulas in plain loops.
    @Test func channelsSplitOverThreadsMatchPlainLoops() throws {
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)   // left set, as other tests do
        var generator = SeededGenerator(seed: 402)
        let (rows, channels, positions) = (2, 3, 8192)
        let norm = try BatchNorm<Double>(channels: channels, positions: positions)
        norm.weight = Matrix.random(rows: 1, columns: 2 * channels, using: &generator)
        let x = Matrix<Double>.random(rows: rows, columns: channels * positions, scale: 2, using: &generator)
        let g = Matrix<Double>.random(rows: rows, columns: channels * positions, using: &generator)
        let y = try norm.forward(x)
        let dx = try norm.backward(g)
        let n = Double(rows * positions)
        for c in 0..<channels {
            let values = (0..<rows).flatMap { r in (0..<positions).map { (r, c * positions + $0) } }
            let mean = values.reduce(0) { $0 + x[$1.0, $1.1] } / n
            let variance = values.reduce(0) { $0 + (x[$1.0, $1.1] - mean) * (x[$1.0, $1.1] - mean) } / n
            let inverse = 1 / (variance + 1e-5).squareRoot()
            let (gain, bias) = (norm.weight[0, c], norm.weight[0, channels + c])
            let hat = { (i: (Int, Int)) in (x[i.0, i.1] - mean) * inverse }
            let sum = values.reduce(0) { $0 + g[$1.0, $1.1] }
            let weighted = values.reduce(0) { $0 + g[$1.0, $1.1] * hat($1) }
            var worst = (forward: 0.0, backward: 0.0)
            for i in values {
                worst.forward = max(worst.forward, abs(y[i.0, i.1] - (gain * hat(i) + bias)))
                let want = gain * inverse * (g[i.0, i.1] - sum / n - hat(i) * weighted / n)
                worst.backward = max(worst.backward, abs(dx[i.0, i.1] - want))
            }
            // Sums of 2¹⁴ terms in another order: within 2¹⁴·ε of the values' size.
            #expect(worst.forward < 1e-10 && worst.backward < 1e-10, "channel \(c): \(worst)")
        }
    }

    /// `BatchNorm<Float>` (its passes at the machine's widest vector level, the statistics combined
    /// sample by sample) against the same layer in Double on the same values, centred away from
    /// zero (μ ≈ 3), with bounds from the roundings, u the unit roundoff and N = rows·positions a
    /// channel's values: μ within (N + 1)·u·max|x|; x̂ within
    /// h = u·((N + 1)·(max|x|/σ)·(1 + |x̂|) + (N/2 + 6)·|x̂|), as a two-pass variance; y within γh
    /// and two roundings; dx within γ/σ times the errors of its terms (the two means' sums N·u
    /// of their largest term, x̂'s h) plus 1/σ's relative error and two roundings of dx.
    @Test(arguments: [(1, 2, 5), (4, 3, 7), (7, 2, 49), (16, 2, 196)])
    func floatMatchesDoubleWithinTheRoundingBounds(rows: Int, channels: Int, positions: Int) throws {
        var generator = SeededGenerator(seed: 405)
        let u = Double(Float.ulpOfOne) / 2
        let (single, double) = (try BatchNorm<Float>(channels: channels, positions: positions),
                                try BatchNorm<Double>(channels: channels, positions: positions))
        let weight = Matrix<Double>.random(rows: 1, columns: 2 * channels, using: &generator)
        double.weight = weight
        single.weight = Matrix(rows: 1, columns: 2 * channels) { Float(weight[$0, $1]) }
        let x = Matrix<Float>(rows: rows, columns: channels * positions) { _, _ in Float.random(in: 1...5, using: &generator) }
        let g = Matrix<Float>(rows: rows, columns: channels * positions) { _, _ in Float.random(in: -1...1, using: &generator) }
        let (y, wantY) = (try single.forward(x), try double.forward(Matrix(rows: rows, columns: x.columns) { Double(x[$0, $1]) }))
        let (dx, wantDx) = (try single.backward(g), try double.backward(Matrix(rows: rows, columns: g.columns) { Double(g[$0, $1]) }))
        let n = Double(rows * positions)
        for c in 0..<channels {
            let indices = (0..<rows).flatMap { r in (0..<positions).map { (r, c * positions + $0) } }
            let values = indices.map { Double(x[$0.0, $0.1]) }
            let mean = values.reduce(0, +) / n
            let sigma = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n + 1e-5).squareRoot()
            let largest = values.map(abs).max()!
            let (gain, bias) = (abs(weight[0, c]), weight[0, channels + c])
            let hat = values.map { ($0 - mean) / sigma }
            let h = hat.map { u * ((n + 1) * (largest / sigma) * (1 + abs($0)) + (n / 2 + 6) * abs($0)) }
            let grads = indices.map { Double(g[$0.0, $0.1]) }
            let gLargest = grads.map(abs).max()!
            let weightedMean = zip(grads, hat).map(*).reduce(0, +) / n
            let gradMean = grads.reduce(0, +) / n
            let weightedError = n * u * zip(grads, hat).map { abs($0 * $1) }.max()! + gLargest * h.max()!
            let inverseError = u * ((n + 1) * 2 * largest / sigma + n / 2 + 6)
            for (k, i) in indices.enumerated() {
                let want = wantY[i.0, i.1]
                #expect(abs(Double(y[i.0, i.1]) - want) <= gain * h[k] + 2 * u * (abs(want) + abs(bias) + 1),
                        "y of channel \(c)")
                let expected = wantDx[i.0, i.1]
                let terms = n * u * gLargest + abs(hat[k]) * weightedError + h[k] * abs(weightedMean)
                    + 4 * u * (abs(grads[k]) + abs(gradMean) + abs(hat[k] * weightedMean))
                let bound = gain / sigma * terms + (inverseError + 2 * u) * abs(expected)
                #expect(abs(Double(dx[i.0, i.1]) - expected) <= bound, "dx of channel \(c)")
            }
        }
    }

    /// A step of a one-layer model (SGD, learning rate 0.1) moves the running averages by
    /// momentum 0.5 towards the batch's (variance unbiased); `Model.forward` then normalizes by them.
    @Test func runningAveragesMoveWithTheStepAndServeEvaluation() throws {
        let norm = try BatchNorm<Double>(channels: 2, momentum: 0.5)
        let model = Model<Double>(layers: [norm])
        var optimizer = try SGDOptimizer<Double>(settings: SGDSettings(learningRate: 0.1, momentum: 0))
        try model.register(with: &optimizer)
        let x = try Matrix<Double>(rows: 4, columns: 2, elements: [1, 10, 2, 20, 3, 30, 6, 40])
        // Channel 0: mean 3, unbiased variance (4 + 1 + 0 + 9)/3; channel 1: mean 25, (225 + 25 + 25 + 225)/3.
        _ = try norm.forward(x)
        #expect(norm.runningMean.elements == [0, 0] && norm.runningVariance.elements == [1, 1])   // staged only
        _ = try model.trainStep(x, labels: [0, 1, 0, 1][...], optimizer: &optimizer)
        let (mean, variance) = ([1.5, 12.5], [0.5 + 0.5 * 14 / 3, 0.5 + 0.5 * 500 / 3])
        for (value, want) in zip(norm.runningMean.elements + norm.runningVariance.elements, mean + variance) {
            #expect(abs(value - want) <= 1e-13 * max(1, abs(want)))
        }
        let y = try model.forward(x)
        let w = norm.weight
        for r in 0..<4 {
            for c in 0..<2 {
                let want = (x[r, c] - mean[c]) / (variance[c] + 1e-5).squareRoot() * w[0, c] + w[0, 2 + c]
                #expect(abs(y[r, c] - want) < 1e-12)
            }
        }
        #expect(norm.usesBatchStatistics)   // back to training after the evaluation
    }

    /// A step whose optimizer refuses the gradient (a NaN in the batch) leaves the running
    /// averages and `[γ | β]` as they were.
    @Test func aRefusedStepLeavesTheRunningAveragesUnchanged() throws {
        let norm = try BatchNorm<Double>(channels: 2)
        let model = Model<Double>(layers: [norm])
        var optimizer = try SGDOptimizer<Double>(settings: SGDSettings(learningRate: 0.1))
        try model.register(with: &optimizer)
        _ = try model.trainStep(
            try Matrix(rows: 3, columns: 2, elements: [1, 2, 3, 4, 5, 7]), labels: [0, 1, 1][...], optimizer: &optimizer)
        let (mean, variance, weight) = (norm.runningMean, norm.runningVariance, norm.weight)
        let bad = try Matrix<Double>(rows: 3, columns: 2, elements: [1, .nan, 3, 4, 5, 7])
        #expect(throws: NGError.self) { try model.trainStep(bad, labels: [0, 1, 1][...], optimizer: &optimizer) }
        #expect(norm.runningMean == mean && norm.runningVariance == variance && norm.weight == weight)
    }

    @Test func badSettingsAndShapesAreRefused() throws {
        #expect(throws: NGError.self) { try BatchNorm<Float>(channels: 0) }
        #expect(throws: NGError.self) { try BatchNorm<Float>(channels: 2, positions: 0) }
        #expect(throws: NGError.self) { try BatchNorm<Float>(channels: 1 << 20, positions: 1 << 20) }
        #expect(throws: NGError.self) { try BatchNorm<Float>(channels: 2, momentum: 1.5) }
        #expect(throws: NGError.self) { try BatchNorm<Float>(channels: 2, epsilon: 0) }
        #expect(throws: NGError.self) { try BatchNorm<Float>(channels: 2, epsilon: 1e-60) }   // 0 in Float
        let norm = try BatchNorm<Double>(channels: 2, positions: 3)
        #expect(throws: NGError.self) { try norm.forward(Matrix(rows: 2, columns: 5)) }
        // One value a channel: no batch statistics in training; evaluation needs none.
        let dense = try BatchNorm<Double>(channels: 3)
        #expect(throws: NGError.self) { try dense.forward(Matrix(rows: 1, columns: 3)) }
        dense.usesBatchStatistics = false
        _ = try dense.forward(Matrix(rows: 1, columns: 3))
        dense.usesBatchStatistics = true
        _ = try norm.forward(Matrix(rows: 2, columns: 6))
        #expect(throws: NGError.self) { try norm.backward(Matrix(rows: 3, columns: 6)) }
    }
}

/// Synchronized batch normalization on one process, against a twin: `TwinSums` answers every
/// sum as if a second process held the same rows (each value doubled, this process's share ½).
/// The whole batch's statistics are then this batch's, and so is every gradient: two steps of a
/// small ResNet give the weights of plain steps on this batch alone, and only the running
/// variance differs — unbiased by 2n/(2n − 1) over the twice as many values.
@Suite struct SynchronizedBatchNormTests {
    final class TwinSums: CrossProcessSums {
        var calls = 0
        var localShare: Double { 0.5 }
        func reserve(length: Int, callsPerStep: Int) {}
        func sum(_ values: inout [Double]) {
            calls += 1
            for i in values.indices { values[i] *= 2 }
        }
        func beginStep() {}
        func completeStep() {}
    }

    @Test func aTwinProcessGivesThePlainStepsWeights() throws {
        let settings = SGDSettings(learningRate: 0.1, momentum: 0.9)
        let (synchronized, plain) = try (
            Model<Double>.resnet(height: 4, width: 4, classes: 3, widths: [2, 3], blocks: 1, seed: 5),
            Model<Double>.resnet(height: 4, width: 4, classes: 3, widths: [2, 3], blocks: 1, seed: 5))
        let sums = TwinSums()
        var twin = ShareOfBatch(try SGDOptimizer<Double>(settings: settings), localRows: 0..<5, crossProcessSums: sums)
        var alone = try SGDOptimizer<Double>(settings: settings)
        try synchronized.register(with: &twin)
        try plain.register(with: &alone)
        var generator = SeededGenerator(seed: 403)
        for _ in 0..<2 {
            let x = Matrix<Double>.random(rows: 5, columns: 16, scale: 2, using: &generator)
            let labels = [0, 1, 2, 1, 0][...]
            let a = try synchronized.trainStep(x, labels: labels, synchronizing: &twin)
            let b = try plain.trainStep(x, labels: labels, optimizer: &alone)
            #expect(abs(a - b) < 1e-13)
        }
        // Six layers: the stem's, two in the first block, two and the projection's in the second.
        #expect(sums.calls == 2 * 3 * 6, "three sums a batch normalization layer a step")
        for (u, v) in zip(synchronized.trainableLayers, plain.trainableLayers) {
            let scale = v.weight.elements.map(abs).max()!
            let worst = zip(u.weight.elements, v.weight.elements).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-12 * scale, "\(u.spec): \(worst)")
        }
        // The stem's running variance after two steps of momentum 0.1 from 1: 0.81 plus the
        // batches' variances times n/(n − 1), n = 5 rows × 16 positions, or 2n/(2n − 1).
        let a = try #require(synchronized.layers[1] as? BatchNorm<Double>)
        let b = try #require(plain.layers[1] as? BatchNorm<Double>)
        let ratio = (160.0 / 159) / (80.0 / 79)
        for c in 0..<2 {
            let moved = (a.runningVariance[0, c] - 0.81) / (b.runningVariance[0, c] - 0.81)
            #expect(abs(moved - ratio) < 1e-12, "channel \(c): \(moved) against \(ratio)")
        }
    }
}
