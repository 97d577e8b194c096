import NGPlus

/// An elementwise kernel over `x` into `y` (resized to `x`'s shape), both cores sharing chunks
/// of at least `minimumChunk` values: an activation's forward pass.
func forEachChunk<Scalar: BLASScalar>(
    _ x: Matrix<Scalar>, into y: inout Matrix<Scalar>, minimumChunk: Int,
    _ kernel: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
) {
    ensureShape(&y, x.rows, x.columns)
    x.withView { x in
        y.withMutableView { y in
            let (x, y) = (x.flattened, y.flattened)
            ParallelLoop.forEachChunk(x.count, minimumChunk: minimumChunk) { chunk in
                kernel(x.columns(chunk).base, y.columns(chunk).base, chunk.count)
            }
        }
    }
}

/// An elementwise kernel of two inputs of one shape into `y` (resized to it), both cores
/// sharing chunks: an activation's backward pass from what its forward kept and `dy`, or a
/// residual connection's sum of its two branches.
func forEachChunk<Scalar: BLASScalar>(
    _ kept: Matrix<Scalar>, _ dy: Matrix<Scalar>, into y: inout Matrix<Scalar>, minimumChunk: Int,
    _ kernel: (UnsafePointer<Scalar>, UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
) {
    ensureShape(&y, dy.rows, dy.columns)
    withViews(kept, dy, mutating: &y) { kept, dy, y in
        let (kept, dy, y) = (kept.flattened, dy.flattened, y.flattened)
        ParallelLoop.forEachChunk(dy.count, minimumChunk: minimumChunk) { chunk in
            kernel(kept.columns(chunk).base, dy.columns(chunk).base, y.columns(chunk).base, chunk.count)
        }
    }
}
