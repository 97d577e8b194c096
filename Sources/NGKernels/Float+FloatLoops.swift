import Synchronization

/// Float's `BLASScalar` kernels that run from `FloatLoops` at the processor's vector width
/// instead of `ElementwiseKernels`' baseline loops: where a kernel is compute-bound there (Adam's
/// square root and division, four lanes at a time without AVX). Each keeps the contract of the
/// generic kernel it replaces; only the rounding differs (FMA).
extension Float {
    /// Split over the cores, a thread taking at least 16,384 values (the values are
    /// independent: the same result on any number of threads).
    public static func adamUpdate(
        gradient: UnsafeMutablePointer<Float>, firstMoment: UnsafePointer<Float>,
        secondMoment: UnsafePointer<Float>, intoFirst: UnsafeMutablePointer<Float>,
        intoSecond: UnsafeMutablePointer<Float>, count: Int,
        beta1: Float, beta2: Float, correction1: Float, correction2: Float, epsilon: Float,
        weightUpdate: FusedWeightUpdate<Float>?
    ) -> Bool {
        let loops = FloatLoops.selected
        let finite = Atomic<Bool>(true)
        ParallelLoop.forEachChunk(count, minimumChunk: 1 << 14) { chunk in
            let (start, length) = (chunk.lowerBound, chunk.count)
            let update = weightUpdate.map {
                FusedWeightUpdate(
                    weight: $0.weight + start, newWeight: $0.newWeight + start, keep: $0.keep, rate: $0.rate)
            }
            let chunkFinite = loops.adamUpdate(
                gradient: gradient + start, firstMoment: firstMoment + start, secondMoment: secondMoment + start,
                intoFirst: intoFirst + start, intoSecond: intoSecond + start, count: length, beta1: beta1, beta2: beta2,
                correction1: correction1, correction2: correction2, epsilon: epsilon, weightUpdate: update)
            if !chunkFinite { finite.store(false, ordering: .relaxed) }
        }
        return finite.load(ordering: .relaxed)
    }
}
