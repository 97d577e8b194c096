import Foundation
import NGPlus

/// `Double` runs the training stack's loops compiled for Double (see `NetworkScalar`): the
/// defaults throughout, its transcendental loops over libm's `erf` and `exp`.
extension Double: NetworkScalar {
    public static func errorFunction(_ x: Double) -> Double { erf(x) }

    public static func exponential(_ x: Double) -> Double { exp(x) }
}
