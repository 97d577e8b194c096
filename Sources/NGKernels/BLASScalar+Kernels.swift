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

    /// Split over the cores, a thread taking at least 16,384 values (the values are
    /// independent: the same result on any number of threads).
    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func momentumUpdate(
        gradient: UnsafeMutablePointer<Self>, velocity: UnsafePointer<Self>,
        into: UnsafeMutablePointer<Self>, count: Int, momentum: Self, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Self>?
    ) -> Bool {
        ParallelLoop.allChunks(count, minimumChunk: 1 << 14) { chunk in
            let start = chunk.lowerBound
            return ElementwiseKernels.momentumUpdate(
                gradient: gradient + start, velocity: velocity + start, into: into + start, count: chunk.count,
                momentum: momentum, restart: restart, nesterov: nesterov, weightUpdate: weightUpdate?.advanced(by: start))
        }
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func momentumUpdateRows(
        gradient: UnsafeMutablePointer<Self>, velocity: UnsafePointer<Self>, into: UnsafeMutablePointer<Self>,
        rows: UnsafeBufferPointer<Int>, width: Int, momentum: Self, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Self>
    ) -> Bool {
        precondition(weightUpdate.decayedColumns == nil, "a table row's values are all weights")
        return updateRows(rows, width: width) { row in
            prefetch(velocity + row * width, count: width)
            prefetch(weightUpdate.weight + row * width, count: width)
        } update: { k, row in
            ElementwiseKernels.momentumUpdate(
                gradient: gradient + k * width, velocity: velocity + row * width, into: into + k * width, count: width,
                momentum: momentum, restart: restart, nesterov: nesterov,
                weightUpdate: weightUpdate.tableRow(row, into: k, width: width))
        }
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func adamUpdateRows(
        gradient: UnsafeMutablePointer<Self>, firstMoment: UnsafePointer<Self>, secondMoment: UnsafePointer<Self>,
        intoFirst: UnsafeMutablePointer<Self>, intoSecond: UnsafeMutablePointer<Self>, rows: UnsafeBufferPointer<Int>,
        width: Int, beta1: Self, beta2: Self, correction1: Self, correction2: Self, epsilon: Self,
        weightUpdate: FusedWeightUpdate<Self>?
    ) -> Bool {
        precondition(weightUpdate?.decayedColumns == nil, "a table row's values are all weights")
        return updateRows(rows, width: width) { row in
            prefetch(firstMoment + row * width, count: width)
            prefetch(secondMoment + row * width, count: width)
            if let weightUpdate { prefetch(weightUpdate.weight + row * width, count: width) }
        } update: { k, row in
            ElementwiseKernels.adamUpdate(
                gradient: gradient + k * width, firstMoment: firstMoment + row * width,
                secondMoment: secondMoment + row * width, intoFirst: intoFirst + k * width,
                intoSecond: intoSecond + k * width, count: width, beta1: beta1, beta2: beta2, correction1: correction1,
                correction2: correction2, epsilon: epsilon,
                weightUpdate: weightUpdate?.tableRow(row, into: k, width: width))
        }
    }

    /// A sparse step's row loop: `update(k, rows[k])` for every k in order, each
    /// `prefetchRowsAhead` calls after `prefetchRow(rows[k])` started the misses of its table
    /// rows. Returns whether every update's values are finite.
    @inline(__always)
    static func updateRows(
        _ rows: UnsafeBufferPointer<Int>, width: Int, prefetchRow: (Int) -> Void, update: (Int, Int) -> Bool
    ) -> Bool {
        var finite = true
        for k in 0..<(rows.count + prefetchRowsAhead) {
            if k < rows.count { prefetchRow(rows[k]) }
            let r = k - prefetchRowsAhead
            guard r >= 0 else { continue }
            finite = update(r, rows[r]) && finite
        }
        return finite
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

    @_specialize(where Self == Double)
    public static func columnSums(
        _ a: UnsafePointer<Self>, rows: Int, columns: Int, leadingDimension: Int, accumulate: Bool,
        into sums: UnsafeMutablePointer<Self>, stride: Int
    ) {
        ElementwiseKernels.columnSums(
            a, rows: rows, columns: columns, leadingDimension: leadingDimension, accumulate: accumulate, into: sums,
            stride: stride)
    }

    @_specialize(where Self == Double)
    public static func transpose(
        _ source: UnsafePointer<Self>, rows: Int, columns: Int, leadingDimension: Int,
        into target: UnsafeMutablePointer<Self>
    ) {
        ElementwiseKernels.transpose(source, rows: rows, columns: columns, leadingDimension: leadingDimension, into: target)
    }

    /// One BLAS GEMM: A is a row-major matrix (inner stride 1) or the transpose of one (row
    /// stride 1).
    @_specialize(where Self == Double)
    public static func tileProduct(
        rows: Int, columns: Int, inner: Range<Int>, a: UnsafePointer<Self>, rowStride: Int, innerStride: Int,
        b: UnsafePointer<Self>, ldb: Int, alpha: Self, beta: Self, into c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        precondition(innerStride == 1 || rowStride == 1, "a tile product's A has one stride of 1")
        let transposed = innerStride != 1
        let first = a + inner.lowerBound * innerStride
        // A stride that only one row or one inner value would step by is never used: a leading
        // dimension of at least the row's length keeps the view valid for BLAS.
        let aView = transposed
            ? MatrixView(
                base: first, rows: inner.count, columns: rows,
                leadingDimension: inner.count == 1 ? Swift.max(innerStride, rows) : innerStride)
            : MatrixView(
                base: first, rows: rows, columns: inner.count,
                leadingDimension: rows == 1 ? Swift.max(rowStride, inner.count) : rowStride)
        let bView = MatrixView(base: b + inner.lowerBound * ldb, rows: inner.count, columns: columns, leadingDimension: ldb)
        let cView = MutableMatrixView(base: c, rows: rows, columns: columns, leadingDimension: ldc)
        BLAS.gemm(aView, transposeA: transposed, bView, alpha: alpha, beta: beta, into: cView)
    }

    @_specialize(where Self == Double)
    public static func gatheredTileProduct(
        rows: Int, columns: Int, inner: Range<Int>, runs: InnerRuns, a: UnsafePointer<Self>,
        rowOffsets aRows: UnsafePointer<Int>, innerOffsets: InnerOffsets, b: UnsafePointer<Self>, rowOffsets bRows: UnsafePointer<Int>,
        alpha: Self, beta: Self, into c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        ElementwiseKernels.gatheredProduct(
            rows: rows, columns: columns, inner: inner, runs: runs, a: a, rowOffsets: aRows, innerOffsets: innerOffsets, b: b,
            rowOffsets: bRows, alpha: alpha, beta: beta, into: c, ldc: ldc)
    }
}
