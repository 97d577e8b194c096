import NGKernels

/// The loops of a recommender's sparse features and their interaction (`EmbeddingBag`,
/// `FeatureInteraction`), generic over the scalar and specialized through `NetworkScalar`.
extension NetworkKernels {
    /// Reads `rows × bag` ids (whole numbers held as scalars, a row's bag together) into
    /// `lookups`, and writes each row's `scale·Σ` of its bag's table rows into `y` (`width`
    /// values a row). Returns the first row holding an id that is not a whole number in
    /// `0..<vocabulary` — then `y` is left as it was — or nil.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func embeddingBag<Scalar: NetworkScalar>(
        _ ids: UnsafePointer<Scalar>, rows: Int, bag: Int, table: UnsafePointer<Scalar>, vocabulary: Int, width: Int,
        scale: Scalar, lookups: UnsafeMutableBufferPointer<Int>, into y: UnsafeMutablePointer<Scalar>
    ) -> Int? {
        if let bad = readIds(ids, count: rows * bag, vocabulary: vocabulary, into: lookups) { return bad / bag }
        for r in 0..<rows {
            if r + prefetchRowsAhead < rows {
                for k in 0..<bag { prefetch(table + lookups[(r + prefetchRowsAhead) * bag + k] * width, count: width) }
            }
            let out = y + r * width
            out.update(from: table + lookups[r * bag] * width, count: width)
            for k in 1..<max(bag, 1) {
                let row = table + lookups[r * bag + k] * width
                for c in 0..<width { out[c] += row[c] }
            }
            if scale != 1 { for c in 0..<width { out[c] *= scale } }
        }
        return nil
    }

    /// The output gradient of every lookup of a bag: `scale·dy` of its row, `rows × bag` rows of
    /// `width` values into `g`.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func spreadBagGradients<Scalar: NetworkScalar>(
        _ dy: UnsafePointer<Scalar>, rows: Int, bag: Int, width: Int, scale: Scalar, into g: UnsafeMutablePointer<Scalar>
    ) {
        for r in 0..<rows {
            for k in 0..<bag {
                let out = g + (r * bag + k) * width
                for c in 0..<width { out[c] = scale * dy[r * width + c] }
            }
        }
    }

    /// For each of `rows` rows of `vectors` vectors of `width` values (`stacked`, a row's
    /// vectors together), the dot products of every pair `i > j` in the order (1,0), (2,0),
    /// (2,1), (3,0)…, written into `z` from column `offset` of rows `stride` apart.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func pairwiseDots<Scalar: NetworkScalar>(
        _ stacked: UnsafePointer<Scalar>, rows: Int, vectors: Int, width: Int, into z: UnsafeMutablePointer<Scalar>,
        stride: Int, offset: Int
    ) {
        for r in 0..<rows {
            let v = stacked + r * vectors * width
            var out = z + r * stride + offset
            for i in 1..<max(vectors, 1) {
                for j in 0..<i {
                    out.pointee = laneDot(v + i * width, v + j * width, count: width)
                    out += 1
                }
            }
        }
    }

    /// The gradient of `pairwiseDots` with respect to the stacked vectors: for the pair (i, j)
    /// with output gradient g, `dv_i += g·v_j` and `dv_j += g·v_i`; `dStacked` is overwritten.
    /// The `offset` columns of `z` before the products hold vector 0 itself (0 or `width` of
    /// them: DLRM passes the bottom output through), so their gradient is added to `dv_0`.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func pairwiseDotsBackward<Scalar: NetworkScalar>(
        _ stacked: UnsafePointer<Scalar>, outputGradient dz: UnsafePointer<Scalar>, rows: Int, vectors: Int,
        width: Int, stride: Int, offset: Int, into dStacked: UnsafeMutablePointer<Scalar>
    ) {
        let length = vectors * width
        for r in 0..<rows {
            let (v, dv) = (stacked + r * length, dStacked + r * length)
            dv.update(repeating: 0, count: length)
            for c in 0..<offset { dv[c] = dz[r * stride + c] }
            var g = dz + r * stride + offset
            for i in 1..<max(vectors, 1) {
                for j in 0..<i {
                    let gradient = g.pointee
                    g += 1
                    guard gradient != 0 else { continue }
                    let (vi, vj, dvi, dvj) = (v + i * width, v + j * width, dv + i * width, dv + j * width)
                    for c in 0..<width {
                        dvi[c] += gradient * vj[c]
                        dvj[c] += gradient * vi[c]
                    }
                }
            }
        }
    }
}
