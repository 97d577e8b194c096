/// The orthogonalization of a matrix by Muon's quintic Newton–Schulz iteration, with its
/// workspaces made once for one shape: a step allocates nothing.
///
/// For G (r × c) the iteration starts from `X = G / (‖G‖_F + 1e-7)`, whose singular values are
/// then at most 1, and repeats, for r ≤ c,
///
///     A = X·Xᵀ,   B = b·A + c·A²,   X ← a·X + B·X = (a·I + B)·X
///
/// (for r > c the same on Xᵀ: `A = Xᵀ·X`, `X ← X·(a·I + B)`), with the coefficients
/// `(a, b, c) = (3.4445, −4.7750, 2.0315)` of Muon's reference: they push every singular value
/// of X towards 1 quickly rather than exactly, so the result is `U·S′·Vᵀ` for `G = U·S·Vᵀ` with
/// the entries of S′ roughly between 0.7 and 1.2 after five steps — what Muon uses in place of
/// `U·Vᵀ`. Each step costs `3·r·c·s + 2·s³` flops for `s = min(r, c)` (A by SYRK: `r·c·s`).
public struct NewtonSchulz<Scalar: BLASScalar>: Sendable {
    /// The quintic's coefficients.
    public static var coefficients: (a: Double, b: Double, c: Double) { (3.4445, -4.7750, 2.0315) }

    public let rows: Int
    public let columns: Int
    var gram: Matrix<Scalar>
    var polynomial: Matrix<Scalar>
    var next: Matrix<Scalar>

    /// Workspaces for an r × c matrix.
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        let small = Swift.min(rows, columns)
        gram = Matrix(rows: small, columns: small)
        polynomial = gram
        next = Matrix(rows: rows, columns: columns)
    }

    /// Orthogonalizes `x` in place by `steps` iterations.
    /// - Precondition: `x` has this workspace's shape.
    public mutating func orthogonalize(_ x: inout Matrix<Scalar>, steps: Int) {
        precondition(x.rows == rows && x.columns == columns, "NewtonSchulz on a matrix of another shape")
        let (a, b, c) = Self.coefficients
        let norm = x.withView { BLAS.nrm2($0.flattened) }
        x.withMutableView { BLAS.scal(1 / (norm + Scalar(1e-7)), $0.flattened) }
        let wide = rows <= columns
        for _ in 0..<steps {
            // A = X·Xᵀ (Xᵀ·X) by SYRK in bands, its triangle mirrored: half a GEMM's flops.
            x.withView { xv in
                gram.withMutableView { g in
                    BLAS.syrkInBands(xv, transpose: !wide, into: g)
                    g.mirrorLowerTriangle()
                }
            }
            // P = a·I + b·A + c·A·A, so that X′ = a·X + B·X is one product P·X (X·P) with no
            // copy of X into X′ first.
            withViews(gram, gram, mutating: &polynomial) { g, g2, p in
                BLAS.gemmOnWorkers(g, g2, alpha: Scalar(c), into: p)
                BLAS.axpy(Scalar(b), g.flattened, into: p.flattened)
                p.addToDiagonal(Scalar(a))
            }
            withViews(x, polynomial, mutating: &next) { xv, p, n in
                if wide {
                    BLAS.gemmOnWorkers(p, xv, into: n)
                } else {
                    BLAS.gemmOnWorkers(xv, p, into: n)
                }
            }
            swap(&x, &next)
        }
    }
}
