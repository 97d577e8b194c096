import Foundation

/// Float GELU against x·Φ(x) and dy·(Φ(x) + x·φ(x)) in Double, with the error bounds of the
/// Float loops: Φ from erf (≤ 3 ulp, ≤ 1.5ε of a value below 1) and the rounding of 1 + erf
/// put Φ within ε, so |Δy| ≤ 1.5ε·|x| plus the product's rounding; the backward's exponential
/// (≤ 2 ulp, its argument x²/2 rounded: x²/4·ε relative) adds to x·φ(x)'s error.
public struct GELUReference {
    public let y: Double
    public let dx: Double
    public let forwardBound: Double
    public let backwardBound: Double

    public init(x: Float, outputGradient dy: Float) {
        let (v, g) = (Double(x), Double(dy))
        let epsilon = Double(Float.ulpOfOne)
        let phi = (1 + erf(v / 2.0.squareRoot())) / 2
        let density = exp(-v * v / 2) / (2 * Double.pi).squareRoot()
        y = v * phi
        dx = g * (phi + v * density)
        forwardBound = 1.5 * epsilon * abs(v) + epsilon * abs(y)
        backwardBound = abs(g) * (1.5 * epsilon + 4 * epsilon * abs(v) * density * (1 + v * v)) + epsilon * abs(dx)
    }

    /// The largest errors of `y` and `dx` over the values, each as a fraction of its bound.
    public static func worst(
        x: [Float], outputGradient dy: [Float], y: [Float], dx: [Float]
    ) -> (forward: Double, backward: Double) {
        var worst = (forward: 0.0, backward: 0.0)
        for i in x.indices {
            let want = GELUReference(x: x[i], outputGradient: dy[i])
            worst.forward = max(worst.forward, abs(Double(y[i]) - want.y) / want.forwardBound)
            worst.backward = max(worst.backward, abs(Double(dx[i]) - want.dx) / want.backwardBound)
        }
        return worst
    }
}
