import Foundation

/// A Float Gaussian basis value `exp(−γ·(r − k·s)²)` against Double from the same Float inputs
/// r, s and γ, with the error bound of a Float computation. With u the unit roundoff, d = r − k·s
/// carries δ ≤ u·(|k·s| + |d|) (the product's rounding and the difference's) plus the distance's
/// own error `distanceError`; γ·d² is then off by γ·(2|d|δ + δ²) beside its own two roundings
/// (2u·γd²), and the exponential adds its 2 ulp (4u). The bound is relative to the value.
public struct GaussianBasisReference {
    public let value: Double
    public let relativeBound: Double

    public init(distance r: Float, center k: Int, spacing s: Float, gamma: Float, distanceError: Double = 0) {
        let u = Double(Float.ulpOfOne) / 2
        let center = Double(k) * Double(s)
        let d = Double(r) - center
        let g = Double(gamma)
        let delta = 1.01 * u * (abs(center) + abs(d)) + distanceError
        value = exp(-g * d * d)
        relativeBound = g * (2 * abs(d) * delta + delta * delta) + 2 * u * g * d * d + 4 * u
    }
}
