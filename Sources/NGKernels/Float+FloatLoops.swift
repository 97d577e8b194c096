/// Float's `BLASScalar` kernels that run from `FloatLoops` at the processor's vector width
/// instead of `ElementwiseKernels`' baseline loops: where a kernel is compute-bound there (Adam's
/// square root and division, momentum SGD's update, four lanes at a time without AVX), where a
/// small product runs faster on the calling thread than through OpenBLAS (the tile product), and
/// where in-register blocks beat strided stores (the transposition). Each keeps the contract of
/// the generic kernel it replaces; only the rounding differs (FMA).
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
        return ParallelLoop.allChunks(count, minimumChunk: 1 << 14) { chunk in
            let (start, length) = (chunk.lowerBound, chunk.count)
            return loops.adamUpdate(
                gradient: gradient + start, firstMoment: firstMoment + start, secondMoment: secondMoment + start,
                intoFirst: intoFirst + start, intoSecond: intoSecond + start, count: length, beta1: beta1, beta2: beta2,
                correction1: correction1, correction2: correction2, epsilon: epsilon,
                weightUpdate: weightUpdate?.advanced(by: start))
        }
    }

    /// `FloatLoops.momentumUpdateRows`.
    public static func momentumUpdateRows(
        gradient: UnsafeMutablePointer<Float>, velocity: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>,
        rows: UnsafeBufferPointer<Int>, width: Int, momentum: Float, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Float>
    ) -> Bool {
        FloatLoops.selected.momentumUpdateRows(
            gradient: gradient, velocity: velocity, into: into, rows: rows, width: width, momentum: momentum,
            restart: restart, nesterov: nesterov, weightUpdate: weightUpdate)
    }

    /// `FloatLoops.adamUpdateRows`.
    public static func adamUpdateRows(
        gradient: UnsafeMutablePointer<Float>, firstMoment: UnsafePointer<Float>, secondMoment: UnsafePointer<Float>,
        intoFirst: UnsafeMutablePointer<Float>, intoSecond: UnsafeMutablePointer<Float>, rows: UnsafeBufferPointer<Int>,
        width: Int, beta1: Float, beta2: Float, correction1: Float, correction2: Float, epsilon: Float,
        weightUpdate: FusedWeightUpdate<Float>?
    ) -> Bool {
        FloatLoops.selected.adamUpdateRows(
            gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment, intoFirst: intoFirst,
            intoSecond: intoSecond, rows: rows, width: width, beta1: beta1, beta2: beta2, correction1: correction1,
            correction2: correction2, epsilon: epsilon, weightUpdate: weightUpdate)
    }

    /// Split over the cores as the generic kernel is (`BLASScalar.momentumUpdate`).
    public static func momentumUpdate(
        gradient: UnsafeMutablePointer<Float>, velocity: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>,
        count: Int, momentum: Float, restart: Bool, nesterov: Bool, weightUpdate: FusedWeightUpdate<Float>?
    ) -> Bool {
        let loops = FloatLoops.selected
        return ParallelLoop.allChunks(count, minimumChunk: 1 << 14) { chunk in
            let start = chunk.lowerBound
            return loops.momentumUpdate(
                gradient: gradient + start, velocity: velocity + start, into: into + start, count: chunk.count,
                momentum: momentum, restart: restart, nesterov: nesterov, weightUpdate: weightUpdate?.advanced(by: start))
        }
    }

    public static func tileProduct(
        rows: Int, columns: Int, inner: Range<Int>, a: UnsafePointer<Float>, rowStride: Int, innerStride: Int,
        b: UnsafePointer<Float>, ldb: Int, alpha: Float, beta: Float, into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        FloatLoops.selected.tileProduct(
            rows: rows, columns: columns, inner: inner, a: a, rowStride: rowStride, innerStride: innerStride, b: b,
            ldb: ldb, alpha: alpha, beta: beta, into: c, ldc: ldc)
    }

    public static func gatheredTileProduct(
        rows: Int, columns: Int, inner: Range<Int>, runs: InnerRuns, a: UnsafePointer<Float>,
        rowOffsets aRows: UnsafePointer<Int>, innerOffsets: InnerOffsets, b: UnsafePointer<Float>, rowOffsets bRows: UnsafePointer<Int>,
        alpha: Float, beta: Float, into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        FloatLoops.selected.gatheredTileProduct(
            rows: rows, columns: columns, inner: inner, runs: runs, a: a, rowOffsets: aRows, innerOffsets: innerOffsets, b: b,
            rowOffsets: bRows, alpha: alpha, beta: beta, into: c, ldc: ldc)
    }

    public static func columnSums(
        _ a: UnsafePointer<Float>, rows: Int, columns: Int, leadingDimension: Int, accumulate: Bool,
        into sums: UnsafeMutablePointer<Float>, stride: Int
    ) {
        FloatLoops.selected.columnSums(
            a, rows: rows, columns: columns, leadingDimension: leadingDimension, accumulate: accumulate, into: sums,
            stride: stride)
    }

    public static func transpose(
        _ source: UnsafePointer<Float>, rows: Int, columns: Int, leadingDimension: Int,
        into target: UnsafeMutablePointer<Float>
    ) {
        FloatLoops.selected.transpose(source, rows: rows, columns: columns, leadingDimension: leadingDimension, into: target)
    }
}
