/// The shared end of a first-order rule's `stageRows` under update-norm clipping, the lazy step
/// of an embedding table's looked-up rows: `kernel(k, row, gradient)` computes the rule's new
/// state of table row `row` (row k of its staged state) from the gradient in row k of
/// `direction`, the L2 decay added to it first, and writes its step over that row; a second
/// pass applies the steps at the rate that clipping allows (the norm of the update over the
/// touched rows, the only rows a lazy step moves). Without clipping the rules step every row in
/// one kernel call that writes the new weights (`BLASScalar.momentumUpdateRows`,
/// `adamUpdateRows`). Returns whether every new value is finite. The weight rows and the rule's
/// `state` rows (one table, or two) are prefetched `prefetchRowsAhead` rows ahead of the kernel
/// that reads them.
func stageClippedRowSteps<Scalar: BLASScalar>(
    _ rows: [Int], direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newRows: inout Matrix<Scalar>,
    state: MatrixView<Scalar>, _ secondState: MatrixView<Scalar>? = nil,
    learningRate lr: Scalar, maxUpdateNorm: Double, decoupledDecay: Scalar, l2Decay: Scalar,
    kernel: (_ k: Int, _ row: Int, _ gradient: UnsafeMutablePointer<Scalar>) -> Bool
) -> Bool {
    let keep = 1 - lr * decoupledDecay
    let count = rows.count
    return weight.withView { w in
        newRows.withMutableView { target in direction.withMutableView { d in
            /// Starts the misses of the rows the kernel reads `prefetchRowsAhead` rows from now.
            func prefetch(_ k: Int) {
                guard k < count else { return }
                let row = rows[k]
                w.prefetchRow(row)
                state.prefetchRow(row)
                secondState?.prefetchRow(row)
            }
            for k in 0..<prefetchRowsAhead { prefetch(k) }
            var finite = true
            for k in 0..<count {
                prefetch(k + prefetchRowsAhead)
                if l2Decay != 0 { BLAS.axpy(l2Decay, w.rows(rows[k]..<rows[k] + 1), into: d.rows(k..<k + 1)) }
                finite = kernel(k, rows[k], d.rows(k..<k + 1).base) && finite
            }
            var scale = lr
            let norm = Double(lr) * Double(BLAS.nrm2(d.rows(0..<count).readOnly.flattened))
            if norm > maxUpdateNorm { scale = Scalar(Double(lr) * maxUpdateNorm / norm) }
            for k in 0..<count {
                finite = Scalar.scaledUpdate(
                    w.rows(rows[k]..<rows[k] + 1).base, keep: keep, minus: scale, times: d.rows(k..<k + 1).base,
                    into: target.rows(k..<k + 1).base, count: w.columns) && finite
            }
            return finite
        } }
    }
}
