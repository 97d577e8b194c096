import CFloatMath
import NGPlatform

/// Float's transcendental and row-wise loops — GELU, shifted exponentials, the causal softmax,
/// layer and batch normalization and their gradients, softmax cross-entropy, 2×2 max pooling,
/// Adam's update — two small products (attention's tiles, a weight gradient's long rows) and a
/// transposition, compiled once for each x86-64 vector level (baseline SSE2, AVX2 with FMA,
/// AVX-512) from the C loops of `CFloatMath` (one translation unit, `FloatLoops.c`, and the
/// loops' headers), run at the widest level the processor and the operating system offer. Swift code is compiled for the baseline
/// only: four lanes, no FMA. The levels differ only in rounding (FMA), each within the bounds
/// `FloatLoopsTests` and `FloatTileProductTests` check. Double's loops stay generic Swift (see
/// `NetworkKernels`).
public struct FloatLoops: Sendable {
    /// The level these loops were compiled for: `.sse` (the baseline), `.avx2` or `.avx512`.
    public let level: VectorLevel
    @usableFromInline let loops: ngplus_float_loops

    /// The loops of `level` (AVX without AVX2 runs the baseline's), or nil when the processor
    /// or the operating system does not offer it.
    public init?(level: VectorLevel, on cpu: CPUDescription = .current) {
        guard level <= cpu.features.vectorLevel else { return nil }
        #if arch(x86_64)
        switch level {
        case .sse, .avx: (self.level, loops) = (.sse, ngplus_float_loops_at(ngplus_float_level_baseline))
        case .avx2: (self.level, loops) = (.avx2, ngplus_float_loops_at(ngplus_float_level_avx2))
        case .avx512: (self.level, loops) = (.avx512, ngplus_float_loops_at(ngplus_float_level_avx512))
        }
        #else
        (self.level, loops) = (.sse, ngplus_float_loops_at(ngplus_float_level_baseline))
        #endif
    }

    /// The widest level this machine offers.
    public static let selected = FloatLoops(level: CPUDescription.current.features.vectorLevel)!

    /// `y = x·Φ(x)` with `Φ(x) = (1 + erf(x/√2))/2` kept in `cumulative`. Φ is within
    /// 2·10⁻⁷ of the exact value (erf's 3 ulp and the rounding of x/√2), so y within
    /// 2·10⁻⁷·|x| and an ulp.
    @inlinable
    public func gelu(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, cumulative: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        loops.gelu(x, y, cumulative, count)
    }

    /// `dx = dy·(Φ(x) + x·φ(x))`, φ the standard normal density, Φ from `gelu`.
    @inlinable
    public func geluBackward(
        input x: UnsafePointer<Float>, cumulative: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        into dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        loops.gelu_backward(x, cumulative, dy, dx, count)
    }

    /// `y = ln(1 + eˣ) − ln 2` and `sigmoid = σ(x)`, SchNet's shifted softplus and its
    /// derivative, without overflow (`NGTrain`'s `NetworkKernels.shiftedSoftplus` derives the
    /// series): y within 4·10⁻⁷ of max(1, |y|) and σ within 2·10⁻⁷ (the exponential's 2 ulp,
    /// the series' roundings); ±∞ give (∞, 1) and (−ln 2, 0), NaN gives NaN.
    @inlinable
    public func shiftedSoftplus(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, sigmoid: UnsafeMutablePointer<Float>, count: Int
    ) {
        loops.shifted_softplus(x, y, sigmoid, count)
    }

    /// Row p of `basis` (`centers` values) for the distance `distances[p]`:
    /// `e^(max(−γ·(r − k·spacing)², lowest))` for k = 0…centers − 1, each within 2 ulp of the
    /// exponential of its rounded argument, and 0 where that is below `floor`; NaN for a NaN
    /// distance.
    @inlinable
    public func gaussianBasis(
        _ distances: UnsafePointer<Float>, pairs: Int, centers: Int, spacing: Float, gamma: Float, lowest: Float,
        floor: Float, into basis: UnsafeMutablePointer<Float>
    ) {
        loops.gaussian_basis(distances, pairs, centers, spacing, gamma, lowest, floor, basis)
    }

    /// `y = e^(x − shift)`, each within 2 ulp of the exponential of the rounded difference;
    /// `y` may be `x`.
    @inlinable
    public func shiftedExponentials(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, shift: Float
    ) {
        loops.shifted_exponentials(x, y, count, shift)
    }

    /// The causal softmax of rows `firstRow..<firstRow + rows` of a score matrix `size`
    /// columns wide, in place (`scores` at row `firstRow`, rows `leadingDimension` apart): row
    /// i over columns 0…i, its largest value subtracted first; zeros after column i.
    @inlinable
    public func causalSoftmax(
        _ scores: UnsafeMutablePointer<Float>, rows: Int, firstRow: Int, size: Int, leadingDimension: Int
    ) {
        loops.causal_softmax(scores, rows, firstRow, size, leadingDimension)
    }

    /// Its gradient in place: from dP (in `gradient`) and P, `dS = P ⊙ (dP − rowsum(dP ⊙ P))`,
    /// zero after column i.
    @inlinable
    public func causalSoftmaxBackward(
        _ probabilities: UnsafePointer<Float>, _ gradient: UnsafeMutablePointer<Float>, rows: Int, firstRow: Int,
        size: Int, leadingDimension: Int
    ) {
        loops.causal_softmax_backward(probabilities, gradient, rows, firstRow, size, leadingDimension)
    }

    /// Layer normalization of `rows` rows of `width` values: `x̂ = (x − μ)/σ`,
    /// `σ = √(variance + ε)` (two passes over the row), `y = γ ⊙ x̂ + β`; μ and 1/σ of each row
    /// kept.
    @inlinable
    public func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, gain: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        epsilon: Float, into y: UnsafeMutablePointer<Float>, means: UnsafeMutablePointer<Float>,
        inverseDeviation: UnsafeMutablePointer<Float>
    ) {
        loops.layer_norm(x, rows, width, gain, bias, epsilon, y, means, inverseDeviation)
    }

    /// Its gradients from the same x, μ and 1/σ (x̂ formed again, the same bits): per row, with
    /// `g = dy ⊙ γ`, `dx = (1/σ)·(g − mean(g) − x̂·mean(g ⊙ x̂))`; over the rows
    /// `dγ = Σ dy ⊙ x̂` and `dβ = Σ dy`, overwritten.
    @inlinable
    public func layerNormBackward(
        _ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, means: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, rows: Int, width: Int, gain: UnsafePointer<Float>,
        into dx: UnsafeMutablePointer<Float>, gainGradient: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>
    ) {
        loops.layer_norm_backward(
            dy, x, means, inverseDeviation, rows, width, gain, dx, gainGradient, biasGradient)
    }

    /// Batch normalization's first pass over `rows` of sample-major rows of `channels·positions`
    /// values (channel c of a sample: the `positions` values from column c·positions): each
    /// sample's and channel's mean m into `moments[2·(b·channels + c)]` and `Σ (x − m)²` into the
    /// next slot, for the caller to combine over the batch.
    @inlinable
    public func batchNormMoments(
        _ x: UnsafePointer<Float>, rows: Range<Int>, channels: Int, positions: Int,
        into moments: UnsafeMutablePointer<Float>
    ) {
        loops.batch_norm_moments(x, rows.lowerBound, rows.count, channels, positions, moments)
    }

    /// `y = γ·x̂ + β` with `x̂ = (x − μ)·(1/σ)` for `rows`, or `max(y, 0)` with `rectify` (a NaN
    /// kept, −0 made 0).
    @inlinable
    public func batchNormApply(
        _ x: UnsafePointer<Float>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, gain: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rectify: Bool, into y: UnsafeMutablePointer<Float>
    ) {
        loops.batch_norm_apply(
            x, rows.lowerBound, rows.count, channels, positions, mean, inverseDeviation, gain, bias, rectify ? 1 : 0, y)
    }

    /// The gradient's first pass over `rows`: dy, masked by `rectifiedOutput > 0` when the
    /// forward pass fused a ReLU, into dx; each sample's and channel's `Σ dy` into
    /// `sums[2·(b·channels + c)]` and `Σ dy·x̂` into the next slot (x̂ formed as the forward pass
    /// formed it, the same bits).
    @inlinable
    public func batchNormGradientSums(
        _ dy: UnsafePointer<Float>, rectifiedOutput: UnsafePointer<Float>?, input x: UnsafePointer<Float>,
        rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
        sums: UnsafeMutablePointer<Float>
    ) {
        loops.batch_norm_gradient_sums(
            dy, rectifiedOutput, x, rows.lowerBound, rows.count, channels, positions, mean, inverseDeviation, dx, sums)
    }

    /// The gradient's second pass over `rows`: dx, holding dy, becomes
    /// `scale·(dy − meanGradient − x̂·meanWeighted)`, each a value per channel.
    @inlinable
    public func batchNormGradientApply(
        input x: UnsafePointer<Float>, rows: Range<Int>, channels: Int, positions: Int, mean: UnsafePointer<Float>,
        inverseDeviation: UnsafePointer<Float>, scale: UnsafePointer<Float>, meanGradient: UnsafePointer<Float>,
        meanWeighted: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>
    ) {
        loops.batch_norm_gradient_apply(
            x, rows.lowerBound, rows.count, channels, positions, mean, inverseDeviation, scale, meanGradient,
            meanWeighted, dx)
    }

    /// A small matrix product (attention's tiles): `C = α·Σ_{x ∈ inner} A(r, x)·B[x, :] + β·C`
    /// for C of `rows × columns` (rows `ldc` apart), `A(r, x) = a[r·rowStride + x·innerStride]`
    /// (a matrix of either layout: a transpose is a change of strides) and B's rows `ldb`
    /// apart. Each product sums in order of x, one rounding a term (FMA where the level has it).
    /// With β = 0, C is only written.
    @inlinable
    public func tileProduct(
        rows: Int, columns: Int, inner: Range<Int>, a: UnsafePointer<Float>, rowStride: Int, innerStride: Int,
        b: UnsafePointer<Float>, ldb: Int, alpha: Float, beta: Float, into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        loops.tile_product(
            rows, columns, inner.lowerBound, inner.upperBound, a, rowStride, innerStride, b, ldb, alpha, beta, c, ldc)
    }

    /// `tileProduct` with A's and B's rows found in tables: `A(r, x) = a[aRows[r] + innerOffsets(x)]`
    /// and B's row x at `b + bRows[x]` (a convolution's padded planes read in place as its
    /// patches), summed over the x of `inner` that `runs` takes, with the same order of sums and
    /// roundings.
    @inlinable
    public func gatheredTileProduct(
        rows: Int, columns: Int, inner: Range<Int>, runs: InnerRuns, a: UnsafePointer<Float>,
        rowOffsets aRows: UnsafePointer<Int>, innerOffsets: InnerOffsets, b: UnsafePointer<Float>, rowOffsets bRows: UnsafePointer<Int>,
        alpha: Float, beta: Float, into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let (run, runStride) = runs.clamped(to: inner.count)
        let (innerStride, innerTable): (Int, UnsafePointer<Int>?) = switch innerOffsets {
        case let .stride(stride): (stride, nil)
        case let .table(table): (0, table)
        }
        loops.gathered_tile_product(
            rows, columns, inner.lowerBound, inner.upperBound, run, runStride, a, aRows, innerStride, innerTable, b, bRows,
            alpha, beta, c, ldc)
    }

    /// Softmax cross-entropy of `rows` rows of `classes` logits (`leadingDimension` apart)
    /// against `labels` (each in `0..<classes`, which the caller checks): the sum of the rows'
    /// losses `m + log Σ e^(z − m) − z_label` (m the row's largest logit; the logarithm in
    /// Double), and the gradient of their mean, `(softmax − one-hot)/rows`, written `classes`
    /// wide.
    @inlinable
    public func softmaxCrossEntropy(
        _ logits: UnsafePointer<Float>, rows: Int, classes: Int, leadingDimension: Int, labels: UnsafePointer<Int>,
        into gradient: UnsafeMutablePointer<Float>
    ) -> Double {
        loops.softmax_cross_entropy(logits, rows, classes, leadingDimension, labels, gradient)
    }

    /// 2×2 max pooling of one plane of `height × width`, at offset `input` of `x`, into
    /// `y` (see `ngplus_float_loops.max_pool_plane`): each maximum's offset in `x`, or −1 where
    /// `rectify` makes the output 0, in `argmax`.
    @inlinable
    public func maxPoolPlane(
        _ x: UnsafePointer<Float>, input: Int, height: Int, width: Int, rectify: Bool,
        into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
    ) {
        loops.max_pool_plane(x, input, height, width, rectify ? 1 : 0, y, argmax)
    }

    /// 2×2 max pooling of one sample's output laid out by position (`yt`: height·width rows of
    /// `channels` values) into its pooled planes `y` and their `argmax` (see
    /// `ngplus_float_loops.max_pool_positions`), as `maxPoolPlane` pools.
    @inlinable
    public func maxPoolPositions(
        _ yt: UnsafePointer<Float>, channels: Int, height: Int, width: Int, rectify: Bool,
        into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>
    ) {
        loops.max_pool_positions(yt, channels, height, width, rectify ? 1 : 0, y, argmax)
    }

    /// One sample's weight gradient of a convolution followed by rectified 2×2 max pooling,
    /// from its pooled gradient (see `ngplus_float_loops.pooled_weight_gradient`): `work[o·rows
    /// + r]` sums the pooled gradients of channel o times the transposed patches' value r at
    /// each window's maximum. `patches` must be readable 32 values past the last position's.
    @inlinable
    public func pooledWeightGradient(
        _ dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, channels: Int, positions: Int,
        patches: UnsafePointer<Float>, rows: Int, into work: UnsafeMutablePointer<Float>
    ) {
        loops.pooled_weight_gradient(dy, argmax, channels, positions, patches, rows, work)
    }

    /// One Adam update of `count` values (see `ElementwiseKernels.adamUpdate`, whose contract
    /// it keeps): the new moments into `intoFirst` and `intoSecond`, the step over `gradient`
    /// or, with `weightUpdate`, the new weight (its weight decay on its decayed columns).
    /// `correction1` and `correction2` are the bias corrections. Returns whether every new value
    /// is finite.
    @inlinable
    public func adamUpdate(
        gradient: UnsafeMutablePointer<Float>, firstMoment: UnsafePointer<Float>, secondMoment: UnsafePointer<Float>,
        intoFirst: UnsafeMutablePointer<Float>, intoSecond: UnsafeMutablePointer<Float>, count: Int,
        beta1: Float, beta2: Float, correction1: Float, correction2: Float, epsilon: Float,
        weightUpdate: FusedWeightUpdate<Float>?
    ) -> Bool {
        guard let weightUpdate else {
            return loops.adam_update(
                gradient, firstMoment, secondMoment, intoFirst, intoSecond, count, beta1, beta2, 1 / correction1,
                1 / correction2, epsilon, nil, nil, 1, 0, 0) != 0
        }
        return weightUpdate.forEachRun(count) { offset, count, run in
            loops.adam_update(
                gradient + offset, firstMoment + offset, secondMoment + offset, intoFirst + offset, intoSecond + offset,
                count, beta1, beta2, 1 / correction1, 1 / correction2, epsilon, run.weight, run.newWeight, run.keep,
                run.rate, run.decay) != 0
        }
    }

    /// One momentum update of `count` values (see `ElementwiseKernels.momentumUpdate`, whose
    /// contract it keeps): the new velocity into `into`, the step over `gradient` or, with
    /// `weightUpdate`, the new weight (its weight decay on its decayed columns). Returns whether
    /// every new value is finite.
    @inlinable
    public func momentumUpdate(
        gradient: UnsafeMutablePointer<Float>, velocity: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>,
        count: Int, momentum: Float, restart: Bool, nesterov: Bool, weightUpdate: FusedWeightUpdate<Float>?
    ) -> Bool {
        let (restart, nesterov): (Int32, Int32) = (restart ? 1 : 0, nesterov ? 1 : 0)
        guard let weightUpdate else {
            return loops.momentum_update(gradient, velocity, into, count, momentum, restart, nesterov, nil, nil, 1, 0, 0) != 0
        }
        return weightUpdate.forEachRun(count) { offset, count, run in
            loops.momentum_update(
                gradient + offset, velocity + offset, into + offset, count, momentum, restart, nesterov, run.weight,
                run.newWeight, run.keep, run.rate, run.decay) != 0
        }
    }

    /// `momentumUpdate` of a sparse step's scattered rows, in one call (`BLASScalar`'s
    /// `momentumUpdateRows` has the contract), the table rows prefetched `prefetchRowsAhead`
    /// rows before their update. Returns whether every new value is finite.
    @inlinable
    public func momentumUpdateRows(
        gradient: UnsafeMutablePointer<Float>, velocity: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>,
        rows: UnsafeBufferPointer<Int>, width: Int, momentum: Float, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Float>
    ) -> Bool {
        precondition(weightUpdate.decayedColumns == nil, "a table row's values are all weights")
        return loops.momentum_update_rows(
            gradient, velocity, into, rows.baseAddress, rows.count, width, momentum, restart ? 1 : 0, nesterov ? 1 : 0,
            weightUpdate.weight, weightUpdate.newWeight, weightUpdate.keep, weightUpdate.rate, weightUpdate.decay,
            prefetchRowsAhead) != 0
    }

    /// `adamUpdate` of a sparse step's scattered rows, in one call (`BLASScalar`'s
    /// `adamUpdateRows` has the contract), the table rows prefetched `prefetchRowsAhead` rows
    /// before their update. Returns whether every new value is finite.
    @inlinable
    public func adamUpdateRows(
        gradient: UnsafeMutablePointer<Float>, firstMoment: UnsafePointer<Float>, secondMoment: UnsafePointer<Float>,
        intoFirst: UnsafeMutablePointer<Float>, intoSecond: UnsafeMutablePointer<Float>, rows: UnsafeBufferPointer<Int>,
        width: Int, beta1: Float, beta2: Float, correction1: Float, correction2: Float, epsilon: Float,
        weightUpdate: FusedWeightUpdate<Float>?
    ) -> Bool {
        precondition(weightUpdate?.decayedColumns == nil, "a table row's values are all weights")
        return loops.adam_update_rows(
            gradient, firstMoment, secondMoment, intoFirst, intoSecond, rows.baseAddress, rows.count, width, beta1, beta2,
            1 / correction1, 1 / correction2, epsilon, weightUpdate?.weight, weightUpdate?.newWeight,
            weightUpdate?.keep ?? 1, weightUpdate?.rate ?? 0, weightUpdate?.decay ?? 0, prefetchRowsAhead) != 0
    }

    /// The products of long rows, `C = A·Bᵀ` (overwritten) for m rows of A (`lda` apart) and n
    /// rows of B (`ldb` apart), `length` values each: four rows of A by two of B at a time in
    /// vector accumulators, over chunks of the rows that stay in cache.
    @inlinable
    public func rowProducts(
        m: Int, n: Int, length: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        loops.row_products(m, n, length, a, lda, b, ldb, c, ldc)
    }

    /// The transpose of a `rows × columns` matrix (rows `leadingDimension` apart) into a
    /// contiguous `columns × rows` one, `target[j·rows + i] = source[i·leadingDimension + j]`:
    /// 16 × 16 blocks transposed in registers.
    @inlinable
    public func transpose(
        _ source: UnsafePointer<Float>, rows: Int, columns: Int, leadingDimension: Int,
        into target: UnsafeMutablePointer<Float>
    ) {
        loops.transpose(source, rows, columns, leadingDimension, target)
    }

    /// The column sums of a `rows × columns` block (rows `leadingDimension` apart) into
    /// `sums[c·stride]`, added to what they held when `accumulate`: each column summed in order
    /// of its rows, the same bits at every level.
    @inlinable
    public func columnSums(
        _ a: UnsafePointer<Float>, rows: Int, columns: Int, leadingDimension: Int, accumulate: Bool,
        into sums: UnsafeMutablePointer<Float>, stride: Int
    ) {
        loops.column_sums(a, rows, columns, leadingDimension, accumulate ? 1 : 0, sums, stride)
    }
}
