/// The loops of the package that are not BLAS calls, written once, generically, and reached
/// through `BLASScalar` requirements whose defaults (`BLASScalar+Kernels.swift`) forward here,
/// specialized for Float and Double, so each loop runs compiled for its scalar and vectorized
/// even when the caller is generic code that Swift never specializes (an optimizer used through
/// the `LayerOptimizer` protocol, say): measured, an unspecialized finiteness scan made a whole
/// NG+ step 7× slower.
public enum ElementwiseKernels {
    /// True when all `count` values are finite: sums `x − x` (0 when finite, NaN otherwise) in
    /// independent SIMD lanes, at memory speed.
    @inlinable
    public static func allFinite<Scalar: BLASScalar>(_ values: UnsafePointer<Scalar>, count: Int) -> Bool {
        var lanes = SIMD16<Scalar>()
        let whole = count / 16 * 16
        let raw = UnsafeRawPointer(values)
        for offset in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: offset * MemoryLayout<Scalar>.stride, as: SIMD16<Scalar>.self)
            lanes += v - v
        }
        var sum = lanes.sum()
        for i in whole..<count { sum += values[i] - values[i] }
        return sum == 0
    }

    /// The largest absolute value (0 for no values; NaN is ignored). The same loop shape as
    /// `allFinite`, written twice on purpose: one reduction taking its lane operation as a
    /// closure compiled to a call per sixteen values (objdump of the release binary).
    @inlinable
    public static func maxAbsolute<Scalar: BLASScalar>(_ values: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var lanes = SIMD16<Scalar>()
        let whole = count / 16 * 16
        let raw = UnsafeRawPointer(values)
        for offset in stride(from: 0, to: whole, by: 16) {
            let v = raw.loadUnaligned(fromByteOffset: offset * MemoryLayout<Scalar>.stride, as: SIMD16<Scalar>.self)
            lanes = pointwiseMax(lanes, pointwiseMax(v, -v))
        }
        var largest = lanes.max()
        for i in whole..<count { largest = Swift.max(largest, Swift.abs(values[i])) }
        return largest
    }

    /// One Adam update of `count` values into new moment buffers, the old ones only read:
    /// `m′ = β₁m + (1−β₁)g`, `v′ = β₂v + (1−β₂)g²`, the step `s = (m′/c₁) / (√(v′/c₂) + ε)` with
    /// the bias corrections c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ, written over g, or with `weightUpdate`
    /// applied to the weight instead (one pass fewer; g then first takes the update's L2 decay,
    /// and its runs of weight and bias columns their own decay: `FusedWeightUpdate.forEachRun`).
    /// Returns whether every new value is finite. Sixteen lanes at a time: the scalar loop was
    /// not vectorized (three pointers that may alias, a square root with an errno check) and
    /// cost as much as an MLP's GEMMs.
    @inlinable
    public static func adamUpdate<Scalar: BLASScalar>(
        gradient g: UnsafeMutablePointer<Scalar>, firstMoment m: UnsafePointer<Scalar>,
        secondMoment v: UnsafePointer<Scalar>, intoFirst mNew: UnsafeMutablePointer<Scalar>,
        intoSecond vNew: UnsafeMutablePointer<Scalar>, count: Int,
        beta1: Scalar, beta2: Scalar, correction1: Scalar, correction2: Scalar, epsilon: Scalar,
        weightUpdate: FusedWeightUpdate<Scalar>?
    ) -> Bool {
        if let weightUpdate, weightUpdate.decayedColumns != nil {
            return weightUpdate.forEachRun(count) { offset, count, run in
                adamUpdate(
                    gradient: g + offset, firstMoment: m + offset, secondMoment: v + offset, intoFirst: mNew + offset,
                    intoSecond: vNew + offset, count: count, beta1: beta1, beta2: beta2, correction1: correction1,
                    correction2: correction2, epsilon: epsilon, weightUpdate: run)
            }
        }
        typealias Lanes = SIMD16<Scalar>
        let whole = count / 16 * 16
        let (gp, mp, vp) = (UnsafeMutableRawPointer(g), UnsafeRawPointer(m), UnsafeRawPointer(v))
        let (mq, vq) = (UnsafeMutableRawPointer(mNew), UnsafeMutableRawPointer(vNew))
        let (b1, b2, keep1, keep2) = (Lanes(repeating: beta1), Lanes(repeating: beta2),
                                      Lanes(repeating: 1 - beta1), Lanes(repeating: 1 - beta2))
        let (c1, c2, eps) = (Lanes(repeating: 1 / correction1), Lanes(repeating: 1 / correction2),
                             Lanes(repeating: epsilon))
        var finite = Lanes()
        let size = MemoryLayout<Scalar>.stride
        for offset in Swift.stride(from: 0, to: whole * size, by: 16 * size) {
            let gradient = FusedWeightUpdate.decayed(
                gp.loadUnaligned(fromByteOffset: offset, as: Lanes.self), atByteOffset: offset, weightUpdate)
            let first = b1 * mp.loadUnaligned(fromByteOffset: offset, as: Lanes.self) + keep1 * gradient
            let second = b2 * vp.loadUnaligned(fromByteOffset: offset, as: Lanes.self) + keep2 * gradient * gradient
            finite += (first - first) + (second - second)
            mq.storeBytes(of: first, toByteOffset: offset, as: Lanes.self)
            vq.storeBytes(of: second, toByteOffset: offset, as: Lanes.self)
            finite += FusedWeightUpdate.finish(
                (first * c1) / ((second * c2).squareRoot() + eps), over: gp, atByteOffset: offset, weightUpdate)
        }
        var tail: Scalar = 0
        for e in whole..<count {
            let gradient = FusedWeightUpdate.decayed(g[e], at: e, weightUpdate)
            let first = beta1 * m[e] + (1 - beta1) * gradient
            let second = beta2 * v[e] + (1 - beta2) * gradient * gradient
            tail += (first - first) + (second - second)
            mNew[e] = first
            vNew[e] = second
            tail += FusedWeightUpdate.finish(
                (first * (1 / correction1)) / ((second * (1 / correction2)).squareRoot() + epsilon), over: g, at: e,
                weightUpdate)
        }
        return finite.sum() + tail == 0
    }

    /// One momentum update of `count` values into a new velocity buffer, the old one only
    /// read: `v′ = μ·v + g` (`v′ = g` when `restart`), and the step `s = g + μ·v′` (Nesterov)
    /// or `s = v′`, written over g, or with `weightUpdate` applied to the weight instead (g then
    /// first takes the update's L2 decay, and its runs of weight and bias columns their own
    /// decay: `FusedWeightUpdate.forEachRun`). Returns whether every new value is finite.
    @inlinable
    public static func momentumUpdate<Scalar: BLASScalar>(
        gradient g: UnsafeMutablePointer<Scalar>, velocity v: UnsafePointer<Scalar>,
        into vNew: UnsafeMutablePointer<Scalar>, count: Int, momentum mu: Scalar, restart: Bool, nesterov: Bool,
        weightUpdate: FusedWeightUpdate<Scalar>?
    ) -> Bool {
        if let weightUpdate, weightUpdate.decayedColumns != nil {
            return weightUpdate.forEachRun(count) { offset, count, run in
                momentumUpdate(
                    gradient: g + offset, velocity: v + offset, into: vNew + offset, count: count, momentum: mu,
                    restart: restart, nesterov: nesterov, weightUpdate: run)
            }
        }
        typealias Lanes = SIMD16<Scalar>
        let whole = count / 16 * 16
        let (gp, vp, vq) = (UnsafeMutableRawPointer(g), UnsafeRawPointer(v), UnsafeMutableRawPointer(vNew))
        let lanesMu = Lanes(repeating: mu)
        var finite = Lanes()
        let size = MemoryLayout<Scalar>.stride
        for offset in Swift.stride(from: 0, to: whole * size, by: 16 * size) {
            let gradient = FusedWeightUpdate.decayed(
                gp.loadUnaligned(fromByteOffset: offset, as: Lanes.self), atByteOffset: offset, weightUpdate)
            let old = vp.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
            let velocity = restart ? gradient : lanesMu * old + gradient
            finite += velocity - velocity
            vq.storeBytes(of: velocity, toByteOffset: offset, as: Lanes.self)
            finite += FusedWeightUpdate.finish(
                nesterov ? gradient + lanesMu * velocity : velocity, over: gp, atByteOffset: offset, weightUpdate)
        }
        var tail: Scalar = 0
        for e in whole..<count {
            let gradient = FusedWeightUpdate.decayed(g[e], at: e, weightUpdate)
            let velocity = restart ? gradient : mu * v[e] + gradient
            tail += velocity - velocity
            vNew[e] = velocity
            tail += FusedWeightUpdate.finish(
                nesterov ? gradient + mu * velocity : velocity, over: g, at: e, weightUpdate)
        }
        return finite.sum() + tail == 0
    }

    /// `w′ = keep·w − scale·u` for `count` values into `wNew`, w only read (`wNew` may be w
    /// itself: each value is read before it is written, never after). Returns whether every w′
    /// is finite.
    @inlinable
    public static func scaledUpdate<Scalar: BLASScalar>(
        _ w: UnsafePointer<Scalar>, keep: Scalar, minus scale: Scalar, times u: UnsafePointer<Scalar>,
        into wNew: UnsafeMutablePointer<Scalar>, count: Int
    ) -> Bool {
        typealias Lanes = SIMD16<Scalar>
        let whole = count / 16 * 16
        let (wp, up, wq) = (UnsafeRawPointer(w), UnsafeRawPointer(u), UnsafeMutableRawPointer(wNew))
        let (lanesKeep, lanesScale) = (Lanes(repeating: keep), Lanes(repeating: scale))
        var finite = Lanes()
        let size = MemoryLayout<Scalar>.stride
        for offset in Swift.stride(from: 0, to: whole * size, by: 16 * size) {
            let old = wp.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
            let next = (keep == 1 ? old : lanesKeep * old) - lanesScale * up.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
            finite += next - next
            wq.storeBytes(of: next, toByteOffset: offset, as: Lanes.self)
        }
        var tail: Scalar = 0
        for e in whole..<count {
            let next = (keep == 1 ? w[e] : keep * w[e]) - scale * u[e]
            tail += next - next
            wNew[e] = next
        }
        return finite.sum() + tail == 0
    }

    /// `target[j·rows + i] = source[i·leadingDimension + j]`: a `rows × columns` matrix as a
    /// contiguous `columns × rows` one, written in order (stores a row apart, 4 KiB-aliasing
    /// the loads, took a pass ten times as long over attention's heads).
    @inlinable
    public static func transpose<Scalar: BLASScalar>(
        _ source: UnsafePointer<Scalar>, rows: Int, columns: Int, leadingDimension: Int,
        into target: UnsafeMutablePointer<Scalar>
    ) {
        for j in 0..<columns {
            for i in 0..<rows { target[j * rows + i] = source[i * leadingDimension + j] }
        }
    }

    /// `sums[c·stride] = Σ_r a[r·leadingDimension + c]` (plus what it held when `accumulate`),
    /// each column summed in order of its rows from 0 before the add: `BLASScalar.columnSums`
    /// in plain loops.
    @inlinable
    public static func columnSums<Scalar: BLASScalar>(
        _ a: UnsafePointer<Scalar>, rows: Int, columns: Int, leadingDimension: Int, accumulate: Bool,
        into sums: UnsafeMutablePointer<Scalar>, stride: Int
    ) {
        for c in 0..<columns {
            var sum: Scalar = 0
            for r in 0..<rows { sum += a[r * leadingDimension + c] }
            sums[c * stride] = accumulate ? sums[c * stride] + sum : sum
        }
    }

    /// `C = α·Σ_x a[aRows[r] + innerOffsets(x)]·b[bRows[x] + j] + β·C` over the x of `inner` that
    /// `runs` takes (C `rows × columns`, rows `ldc` apart), each sum in order of x:
    /// `BLASScalar.gatheredTileProduct` in plain loops.
    @inlinable
    public static func gatheredProduct<Scalar: BLASScalar>(
        rows: Int, columns: Int, inner: Range<Int>, runs: InnerRuns, a: UnsafePointer<Scalar>,
        rowOffsets aRows: UnsafePointer<Int>, innerOffsets: InnerOffsets, b: UnsafePointer<Scalar>, rowOffsets bRows: UnsafePointer<Int>,
        alpha: Scalar, beta: Scalar, into c: UnsafeMutablePointer<Scalar>, ldc: Int
    ) {
        for r in 0..<rows {
            let row = a + aRows[r]
            for j in 0..<columns {
                var sum: Scalar = 0
                for x in inner where runs.contains(offset: x - inner.lowerBound) {
                    sum += row[innerOffsets.offset(x)] * b[bRows[x] + j]
                }
                let target = c + r * ldc + j
                target.pointee = beta == 0 ? alpha * sum : alpha * sum + beta * target.pointee
            }
        }
    }

    /// im2col of `batch` samples, `sampleStride` apart (see `ConvGeometry.unfold`). Loops run
    /// patch row, then sample, then output row, so that U is written row after row (one
    /// sample at a time across 288 rows 100 KB apart thrashed the TLB: a tenth of a CNN epoch),
    /// and each output row is a run of zeros, the valid input columns, and zeros: with stride 1
    /// the middle is one contiguous copy. With stride 1 and an output as wide as the input
    /// ("same" padding), a sample's whole patch row is the input plane shifted by a constant
    /// offset: one copy from its first valid value to its last, then zeros where the copy ran
    /// across a row's end (`unfoldShifted`), instead of a short copy an output row.
    @inlinable
    public static func unfold<Scalar: BLASScalar>(
        _ geometry: ConvGeometry, _ x: UnsafePointer<Scalar>, batch: Int, sampleStride: Int,
        into u: UnsafeMutablePointer<Scalar>, ld: Int
    ) {
        let (oh, ow, positions) = (geometry.outHeight, geometry.outWidth, geometry.positions)
        let (height, width, stride, padding) = (geometry.height, geometry.width, geometry.stride, geometry.padding)
        let (kh, kw) = (geometry.kernelHeight, geometry.kernelWidth)
        for c in 0..<geometry.inChannels {
            for r in 0..<kh {
                let rows = geometry.validOutputRange(kernelOffset: r, extent: height, outputs: oh)
                for s in 0..<kw {
                    let patchRow = u + ((c * kh + r) * kw + s) * ld
                    let columns = geometry.validOutputRange(kernelOffset: s, extent: width, outputs: ow)
                    for sample in 0..<batch {
                        let row = patchRow + sample * positions
                        let channel = x + sample * sampleStride + c * height * width
                        if stride == 1 && ow == width {
                            unfoldShifted(
                                channel, by: (r - padding) * width + s - padding, rows: rows, columns: columns,
                                width: ow, positions: positions, into: row)
                            continue
                        }
                        for oy in 0..<oh {
                            let out = row + oy * ow
                            guard rows.contains(oy), !columns.isEmpty else {
                                out.update(repeating: 0, count: ow)
                                continue
                            }
                            let line = channel + (oy * stride + r - padding) * width + s - padding
                            out.update(repeating: 0, count: columns.lowerBound)
                            if stride == 1 {
                                (out + columns.lowerBound).update(from: line + columns.lowerBound, count: columns.count)
                            } else {
                                for ox in columns { out[ox] = line[ox * stride] }
                            }
                            (out + columns.upperBound).update(repeating: 0, count: ow - columns.upperBound)
                        }
                    }
                }
            }
        }
    }

    /// One sample's patch row when U's row is the input plane shifted by `shift` values (stride
    /// 1, output width = input width): `row[j] = plane[j + shift]` at the valid output rows and
    /// columns, zero elsewhere. The copy runs from the first valid value to the last, which
    /// are both inside the plane, and so is everything between them; the invalid columns of
    /// the valid rows are then zeroed a column at a time (a kernel's few: one short fill a row
    /// cost a call each).
    @inlinable @inline(__always)
    static func unfoldShifted<Scalar: BLASScalar>(
        _ plane: UnsafePointer<Scalar>, by shift: Int, rows: Range<Int>, columns: Range<Int>, width: Int,
        positions: Int, into row: UnsafeMutablePointer<Scalar>
    ) {
        guard !rows.isEmpty, !columns.isEmpty else { return row.update(repeating: 0, count: positions) }
        let first = rows.lowerBound * width + columns.lowerBound
        let end = (rows.upperBound - 1) * width + columns.upperBound
        row.update(repeating: 0, count: first)
        (row + first).update(from: plane + first + shift, count: end - first)
        (row + end).update(repeating: 0, count: positions - end)
        for ox in 0..<width where !columns.contains(ox) {
            for oy in rows { row[oy * width + ox] = 0 }
        }
    }
}
