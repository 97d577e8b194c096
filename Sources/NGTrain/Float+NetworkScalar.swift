import Foundation
import NGPlus

/// `Float` runs the training stack's loops compiled for Float (see `NetworkScalar`).
extension Float: NetworkScalar {
    /// `FloatMath.erf`: inlined into the GELU loops, which then run as vector loops.
    @inlinable @inline(__always)
    public static func errorFunction(_ x: Float) -> Float { FloatMath.erf(x) }

    /// `FloatMath.exp`: inlined into the softmax and GELU loops.
    @inlinable @inline(__always)
    public static func exponential(_ x: Float) -> Float { FloatMath.exp(x) }
}
