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
    /// `σ = √(variance + ε)` (the variance over the row, two passes), `y = γ ⊙ x̂ + β`. Keeps
    /// x̂ and 1/σ per row for the backward pass.
    @inlinable
    public static func layerNorm<Scalar: NetworkScalar>(
        _ x: UnsafePointer<Scalar>, rows: Int, width: Int, gain: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>,
        epsilon: Scalar, into y: UnsafeMutablePointer<Scalar>, normalized: UnsafeMutablePointer<Scalar>,
        inverseDeviation: UnsafeMutablePointer<Scalar>
    ) {
        let count = Scalar(width)
        for r in 0..<rows {
            let (row, out, hat) = (x + r * width, y + r * width, normalized + r * width)
            var sum: Scalar = 0
            for j in 0..<width { sum += row[j] }
            let mean = sum / count
            var squares: Scalar = 0
            for j in 0..<width { squares += (row[j] - mean) * (row[j] - mean) }
            let inverse = 1 / (squares / count + epsilon).squareRoot()
            inverseDeviation[r] = inverse
            for j in 0..<width {
                hat[j] = (row[j] - mean) * inverse
                out[j] = hat[j] * gain[j] + bias[j]
            }
        }
    }

    /// The gradients of `layerNorm`: per row, with `g = dy ⊙ γ`,
    /// `dx = (1/σ)·(g − mean(g) − x̂·mean(g ⊙ x̂))`; over all rows `dγ = Σ dy ⊙ x̂`, `dβ = Σ dy`.
    @inlinable
    public static func layerNormBackward<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, normalized: UnsafePointer<Scalar>, inverseDeviation: UnsafePointer<Scalar>,
        rows: Int, width: Int, gain: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>,
        gainGradient: UnsafeMutablePointer<Scalar>, biasGradient: UnsafeMutablePointer<Scalar>
    ) {
        let count = Scalar(width)
        gainGradient.update(repeating: 0, count: width)
        biasGradient.update(repeating: 0, count: width)
        for r in 0..<rows {
            let (grad, hat, out) = (dy + r * width, normalized + r * width, dx + r * width)
            var (sum, weighted): (Scalar, Scalar) = (0, 0)
            for j in 0..<width {
                let g = grad[j] * gain[j]
                sum += g
                weighted += g * hat[j]
                gainGradient[j] += grad[j] * hat[j]
                biasGradient[j] += grad[j]
            }
            let (mean, weightedMean, inverse) = (sum / count, weighted / count, inverseDeviation[r])
            for j in 0..<width { out[j] = inverse * (grad[j] * gain[j] - mean - hat[j] * weightedMean) }
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
            var largest = row[0]
            for j in 1..<(i + 1) where row[j] > largest { largest = row[j] }
            // The exponentials in a loop of their own, which has no sum to carry and so runs as
            // a vector loop; then the sum, in order.
            for j in 0...i { row[j] = Scalar.exponential(row[j] - largest) }
            var sum: Scalar = 0
            for j in 0...i { sum += row[j] }
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
            var dot: Scalar = 0
            for j in 0...i { dot += p[j] * g[j] }
            for j in 0...i { g[j] = p[j] * (g[j] - dot) }
            for j in (i + 1)..<size { g[j] = 0 }
        }
    }
}
