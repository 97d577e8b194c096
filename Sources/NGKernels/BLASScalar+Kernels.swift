/// The loops of `BLASScalar` that are not BLAS or LAPACK calls, forwarded to the generic code of
/// `ElementwiseKernels`. Each is specialized for Float and Double: a witness for a concrete type
/// enters the generic entry point, which goes straight to the specialized body, so a caller that
/// Swift never specializes (an optimizer used through `LayerOptimizer`) still runs loops
/// compiled for its scalar.
extension BLASScalar {
    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func smallCholeskyInverse(n: Int, a: UnsafeMutablePointer<Self>, lda: Int) -> Int {
        ElementwiseKernels.smallCholeskyInverse(n: n, a: a, lda: lda)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func mirrorLowerTriangle(_ a: UnsafeMutablePointer<Self>, n: Int, ld: Int) {
        ElementwiseKernels.mirrorLowerTriangle(a, n: n, ld: ld)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func allFinite(_ values: UnsafePointer<Self>, count: Int) -> Bool {
        ElementwiseKernels.allFinite(values, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func maxAbsolute(_ values: UnsafePointer<Self>, count: Int) -> Self {
        ElementwiseKernels.maxAbsolute(values, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func adamUpdate(
        gradient: UnsafeMutablePointer<Self>, firstMoment: UnsafePointer<Self>,
        secondMoment: UnsafePointer<Self>, intoFirst: UnsafeMutablePointer<Self>,
        intoSecond: UnsafeMutablePointer<Self>, count: Int,
        beta1: Self, beta2: Self, correction1: Self, correction2: Self, epsilon: Self,
        weightUpdate: FusedWeightUpdate<Self>?
    ) -> Bool {
        ElementwiseKernels.adamUpdate(
            gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment, intoFirst: intoFirst,
            intoSecond: intoSecond, count: count, beta1: beta1, beta2: beta2, correction1: correction1,
            correction2: correction2, epsilon: epsilon, weightUpdate: weightUpdate)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func momentumUpdate(
        gradient: UnsafeMutablePointer<Self>, velocity: UnsafePointer<Self>,
        into: UnsafeMutablePointer<Self>, count: Int, momentum: Self, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Self>?
    ) -> Bool {
        ElementwiseKernels.momentumUpdate(
            gradient: gradient, velocity: velocity, into: into, count: count, momentum: momentum,
            restart: restart, nesterov: nesterov, weightUpdate: weightUpdate)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func scaledUpdate(
        _ w: UnsafePointer<Self>, keep: Self, minus scale: Self, times u: UnsafePointer<Self>,
        into: UnsafeMutablePointer<Self>, count: Int
    ) -> Bool {
        ElementwiseKernels.scaledUpdate(w, keep: keep, minus: scale, times: u, into: into, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func unfold(
        _ geometry: ConvGeometry, _ x: UnsafePointer<Self>, batch: Int, sampleStride: Int,
        into u: UnsafeMutablePointer<Self>, ld: Int
    ) {
        ElementwiseKernels.unfold(geometry, x, batch: batch, sampleStride: sampleStride, into: u, ld: ld)
    }
}
