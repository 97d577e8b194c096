/// The loops of the Transformer's elementwise and row-wise layers (GELU, LayerNorm), generic,
/// reached through `NetworkScalar` so that each runs compiled for its concrete type.
extension NetworkKernels {
    /// `y = x·Φ(x)`, `Φ(x) = (1 + erf(x/√2))/2`: the exact GELU. Φ is kept in `cumulative`
    /// for the backward pass, which then needs no error function of its own.
    @inlinable
    public static func gelu<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, cumulative: UnsafeMutablePointer<Scalar>,
        count: Int
    ) {
        let rootHalf = Scalar(0.5.squareRoot())
        for i in 0..<count {
            let v = x[i]
            let phi = (1 + Scalar.errorFunction(v * rootHalf)) / 2
            cumulative[i] = phi
            y[i] = v * phi
        }
    }

    /// `dx = dy·(Φ(x) + x·φ(x))`, φ the standard normal density, with Φ(x) from the forward
    /// pass: one exponential a value.
    @inlinable
    public static func geluBackward<Scalar: NetworkScalar>(
        input x: UnsafePointer<Scalar>, cumulative: UnsafePointer<Scalar>, outputGradient dy: UnsafePointer<Scalar>,
        into dx: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        let density = Scalar(1 / (2 * Double.pi).squareRoot())
        for i in 0..<count {
            let v = x[i]
            dx[i] = dy[i] * (cumulative[i] + v * density * Scalar.exponential(-v * v / 2))
        }
    }

    /// Layer normalization of `rows` rows of `width` values: per row `x̂ = (x − μ)/σ` with
    /// `σ = √(variance + ε)` (the variance over the row, two passes), `y = γ ⊙ x̂ + β`. Keeps μ
    /// and 1/σ per row for the backward pass, which forms x̂ again from x: no row of x̂ is
    /// stored. The row's sums run in lanes (`laneSum`, `laneSquaredDeviations`).
    @inlinable
    public static func layerNorm<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, rows: Int, width: Int, gain: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>,
        epsilon: Scalar, into y: UnsafeMutablePointer<Scalar>, means: UnsafeMutablePointer<Scalar>,
        inverseDeviation: UnsafeMutablePointer<Scalar>
    ) {
        let count = Scalar(width)
        for r in 0..<rows {
            let (row, out) = (x + r * width, y + r * width)
            let mean = laneSum(row, count: width) / count
            let inverse = 1 / (laneSquaredDeviations(row, from: mean, count: width) / count + epsilon).squareRoot()
            means[r] = mean
            inverseDeviation[r] = inverse
            for j in 0..<width { out[j] = (row[j] - mean) * inverse * gain[j] + bias[j] }
        }
    }

    /// The gradients of `layerNorm` from its input x and the μ and 1/σ it kept, with
    /// `x̂ = (x − μ)·(1/σ)` formed as the forward pass formed it: per row, with `g = dy ⊙ γ`
    /// (formed in `dx`), `dx = (1/σ)·(g − mean(g) − x̂·mean(g ⊙ x̂))`; over all rows
    /// `dγ = Σ dy ⊙ x̂`, `dβ = Σ dy`.
    @inlinable
    public static func layerNormBackward<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, input x: UnsafePointer<Scalar>, means: UnsafePointer<Scalar>,
        inverseDeviation: UnsafePointer<Scalar>, rows: Int, width: Int, gain: UnsafePointer<Scalar>,
        into dx: UnsafeMutablePointer<Scalar>, gainGradient: UnsafeMutablePointer<Scalar>,
        biasGradient: UnsafeMutablePointer<Scalar>
    ) {
        let count = Scalar(width)
        gainGradient.update(repeating: 0, count: width)
        biasGradient.update(repeating: 0, count: width)
        for r in 0..<rows {
            let (grad, row, out) = (dy + r * width, x + r * width, dx + r * width)
            let (center, inverse) = (means[r], inverseDeviation[r])
            for j in 0..<width {
                out[j] = grad[j] * gain[j]
                gainGradient[j] += grad[j] * ((row[j] - center) * inverse)
                biasGradient[j] += grad[j]
            }
            let mean = laneSum(out, count: width) / count
            let weightedMean = laneDotNormalized(out, row, center: center, scale: inverse, count: width) / count
            for j in 0..<width { out[j] = inverse * (out[j] - mean - ((row[j] - center) * inverse) * weightedMean) }
        }
    }

    /// The causal row softmax of rows `firstRow..<firstRow + rows` of a score matrix `size`
    /// columns wide, in place (`scores` points at row `firstRow`): row i over columns 0…i (its
    /// largest value subtracted first), zeros after i.
    @inlinable
    public static func causalSoftmax<Scalar: NetworkScalar>(
        _ scores: UnsafeMutablePointer<Scalar>, rows: Int, firstRow: Int, size: Int, leadingDimension: Int
    ) {
        for r in 0..<rows {
            let (row, i) = (scores + r * leadingDimension, firstRow + r)
            let largest = laneMaximum(row, count: i + 1)
            // The exponentials in a loop of their own, which has no sum to carry and so runs as
            // a vector loop; then their sum, in lanes.
            Scalar.shiftedExponentials(row, into: row, count: i + 1, shift: largest)
            let sum = laneSum(row, count: i + 1)
            for j in 0...i { row[j] /= sum }
            for j in (i + 1)..<size { row[j] = 0 }
        }
    }

    /// The gradient of `causalSoftmax` for the same rows, in place: from `dP` (in `gradient`)
    /// and the probabilities P, `dS = P ⊙ (dP − rowsum(dP ⊙ P))` (zero after column i).
    @inlinable
    public static func causalSoftmaxBackward<Scalar: NetworkScalar>(
        _ probabilities: UnsafePointer<Scalar>, _ gradient: UnsafeMutablePointer<Scalar>, rows: Int, firstRow: Int,
        size: Int, leadingDimension: Int
    ) {
        for r in 0..<rows {
            let (p, g, i) = (probabilities + r * leadingDimension, gradient + r * leadingDimension, firstRow + r)
            let dot = laneDot(p, UnsafePointer(g), count: i + 1)
            for j in 0...i { g[j] = p[j] * (g[j] - dot) }
            for j in (i + 1)..<size { g[j] = 0 }
        }
    }

    /// Reads `count` ids, whole numbers held as scalars, into `lookups`. Returns the index of the
    /// first that is not a whole number in `0..<vocabulary` (the lookups before it are written),
    /// or nil.
    @inlinable
    static func readIds<Scalar: NetworkScalar>(
        _ ids: UnsafePointer<Scalar>, count: Int, vocabulary: Int, into lookups: UnsafeMutableBufferPointer<Int>
    ) -> Int? {
        let limit = Scalar(vocabulary)
        for l in 0..<count {
            let id = ids[l]
            guard id >= 0, id < limit, id == id.rounded(.towardZero) else { return l }
            lookups[l] = Scalar.wholeNumber(id)
        }
        return nil
    }

    /// Reads `rows` token ids (one a row, whole numbers held as scalars) into `lookups` and copies
    /// the table row of each into `y` (`width` values a row). Returns the first row whose id
    /// is not a whole number in `0..<vocabulary` — then `y` is left as it was — or nil.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func embeddingLookup<Scalar: NetworkScalar>(
        _ ids: UnsafePointer<Scalar>, rows: Int, table: UnsafePointer<Scalar>, vocabulary: Int, width: Int,
        lookups: UnsafeMutableBufferPointer<Int>, into y: UnsafeMutablePointer<Scalar>
    ) -> Int? {
        if let bad = readIds(ids, count: rows, vocabulary: vocabulary, into: lookups) { return bad }
        for r in 0..<rows { (y + r * width).update(from: table + lookups[r] * width, count: width) }
        return nil
    }

    /// Σ x over `count` values, in eight independent lanes and then across them: a vector loop,
    /// where one running sum waits on each addition's latency (the order of the terms is the
    /// lanes', so the result may differ from the sequential sum in its last bits).
    @inlinable @inline(__always)
    static func laneSum<Scalar: NetworkScalar>(_ x: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var lanes = SIMD8<Scalar>()
        let whole = count / 8 * 8
        let raw = UnsafeRawPointer(x)
        for offset in stride(from: 0, to: whole, by: 8) {
            lanes += raw.loadUnaligned(fromByteOffset: offset * MemoryLayout<Scalar>.stride, as: SIMD8<Scalar>.self)
        }
        var sum = lanes.sum()
        for i in whole..<count { sum += x[i] }
        return sum
    }

    /// Σ x·y over `count` values, in lanes as `laneSum`.
    @inlinable @inline(__always)
    static func laneDot<Scalar: NetworkScalar>(_ x: UnsafePointer<Scalar>, _ y: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var lanes = SIMD8<Scalar>()
        let whole = count / 8 * 8
        let (rawX, rawY) = (UnsafeRawPointer(x), UnsafeRawPointer(y))
        for offset in stride(from: 0, to: whole, by: 8) {
            let byte = offset * MemoryLayout<Scalar>.stride
            lanes += rawX.loadUnaligned(fromByteOffset: byte, as: SIMD8<Scalar>.self)
                * rawY.loadUnaligned(fromByteOffset: byte, as: SIMD8<Scalar>.self)
        }
        var sum = lanes.sum()
        for i in whole..<count { sum += x[i] * y[i] }
        return sum
    }

    /// Σ (x − c)² over `count` values, in lanes as `laneSum`; the deviations are not stored.
    @inlinable @inline(__always)
    static func laneSquaredDeviations<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, from c: Scalar, count: Int
    ) -> Scalar {
        var lanes = SIMD8<Scalar>()
        let whole = count / 8 * 8
        let raw = UnsafeRawPointer(x)
        let center = SIMD8<Scalar>(repeating: c)
        for offset in stride(from: 0, to: whole, by: 8) {
            let deviation = raw.loadUnaligned(fromByteOffset: offset * MemoryLayout<Scalar>.stride, as: SIMD8<Scalar>.self)
                - center
            lanes += deviation * deviation
        }
        var sum = lanes.sum()
        for i in whole..<count { sum += (x[i] - c) * (x[i] - c) }
        return sum
    }

    /// Σ y·((x − c)·s) over `count` values, in lanes as `laneDot`: a dot product with the
    /// normalized values `(x − c)·s`, formed in registers as a pass that stored them would.
    @inlinable @inline(__always)
    static func laneDotNormalized<Scalar: NetworkScalar>(
        _ y: UnsafePointer<Scalar>, _ x: UnsafePointer<Scalar>, center c: Scalar, scale s: Scalar, count: Int
    ) -> Scalar {
        var lanes = SIMD8<Scalar>()
        let whole = count / 8 * 8
        let (rawY, rawX) = (UnsafeRawPointer(y), UnsafeRawPointer(x))
        let (center, scale) = (SIMD8<Scalar>(repeating: c), SIMD8<Scalar>(repeating: s))
        for offset in stride(from: 0, to: whole, by: 8) {
            let byte = offset * MemoryLayout<Scalar>.stride
            let normalized = (rawX.loadUnaligned(fromByteOffset: byte, as: SIMD8<Scalar>.self) - center) * scale
            lanes += rawY.loadUnaligned(fromByteOffset: byte, as: SIMD8<Scalar>.self) * normalized
        }
        var sum = lanes.sum()
        for i in whole..<count { sum += y[i] * ((x[i] - c) * s) }
        return sum
    }

    /// The largest of `count ≥ 1` values, in lanes (NaN ignored unless every value is NaN).
    @inlinable @inline(__always)
    static func laneMaximum<Scalar: NetworkScalar>(_ x: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var largest = x[0]
        let whole = count / 8 * 8
        if whole > 0 {
            var lanes = SIMD8<Scalar>(repeating: x[0])
            let raw = UnsafeRawPointer(x)
            for offset in stride(from: 0, to: whole, by: 8) {
                lanes = pointwiseMax(
                    lanes, raw.loadUnaligned(fromByteOffset: offset * MemoryLayout<Scalar>.stride, as: SIMD8<Scalar>.self))
            }
            largest = lanes.max()
        }
        for i in whole..<count where x[i] > largest { largest = x[i] }
        return largest
    }
}
