/// The shared end of a first-order rule's `stageRows`, the lazy step of an embedding table's
/// looked-up rows: `kernel(k, row, gradient, update)` computes the rule's new state of table row
/// `row` (row k of its staged state) from the gradient in row k of `direction`, and writes the
/// new weight through the fused update it is given (no clipping; the L2 decay folded into the
/// same pass, as a dense step does) or, with the L2 decay added to the gradient row first, its
/// step over the gradient row, which the second pass applies at the rate that clipping allows
/// (the norm of the update over the touched rows, the only rows a lazy step moves). Returns
/// whether every new value is finite. The weight rows and the rule's `state` rows (one table,
/// or two) are prefetched `prefetchRowsAhead` rows ahead of the kernel that reads them.
func stageRowSteps<Scalar: BLASScalar>(
    _ rows: [Int], direction: inout Matrix<Scalar>, weight: Matrix<Scalar>, into newRows: inout Matrix<Scalar>,
    state: MatrixView<Scalar>, _ secondState: MatrixView<Scalar>? = nil,
    learningRate lr: Scalar, maxUpdateNorm: Double?, decoupledDecay: Scalar, l2Decay: Scalar,
    kernel: (_ k: Int, _ row: Int, _ gradient: UnsafeMutablePointer<Scalar>, FusedWeightUpdate<Scalar>?) -> Bool
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
            guard let maxUpdateNorm else {
                for k in 0..<count {
                    prefetch(k + prefetchRowsAhead)
                    let update = FusedWeightUpdate(
                        weight: w.rows(rows[k]..<rows[k] + 1).base, newWeight: target.rows(k..<k + 1).base, keep: keep,
                        rate: lr, decay: l2Decay)
                    finite = kernel(k, rows[k], d.rows(k..<k + 1).base, update) && finite
                }
                return finite
            }
            for k in 0..<count {
                prefetch(k + prefetchRowsAhead)
                if l2Decay != 0 { BLAS.axpy(l2Decay, w.rows(rows[k]..<rows[k] + 1), into: d.rows(k..<k + 1)) }
                finite = kernel(k, rows[k], d.rows(k..<k + 1).base, nil) && finite
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
