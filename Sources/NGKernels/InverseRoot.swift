#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inverse p-th root of a symmetric positive semi-definite matrix, regularized relative to
/// its largest eigenvalue — Shampoo's preconditioner — with LAPACK's divide-and-conquer
/// eigensolver (SYEVD) and workspaces sized once for one order: a refresh allocates nothing.
///
/// For `A = Q·diag(λ)·Qᵀ` it computes
///
///     (A + ε·λ_max·I)^(−1/p) = Q·diag((max(λᵢ, 0) + ε·λ_max)^(−1/p))·Qᵀ
///
/// (eigenvalues below zero are rounding of a semi-definite matrix and count as zero) as `Sᵀ·S`
/// with `S = diag(fᵢ^(1/2))·Qᵀ`, one SYRK. A matrix whose largest eigenvalue is not positive
/// (nothing accumulated yet) has no scale to regularize against: its root is the identity.
public struct InverseRoot<Scalar: BLASScalar>: Sendable {
    public let order: Int
    var vectors: Matrix<Scalar>
    var solver: SymmetricEigenWorkspace<Scalar>

    /// Workspaces for matrices of `order`.
    public init(order: Int) {
        self.order = order
        vectors = Matrix(rows: order, columns: order)
        solver = SymmetricEigenWorkspace(order: order)
    }

    /// Writes `(a + ε·λ_max·I)^(−1/p)` into `root` (both `order × order`; only a's lower
    /// triangle is read). Returns false, with `root` unspecified, when the eigensolver does
    /// not converge or a value is not finite.
    /// - Precondition: the shapes are this workspace's order; `p > 0`, `ε ≥ 0`.
    public mutating func compute(
        _ a: Matrix<Scalar>, power p: Double, epsilon: Double, into root: inout Matrix<Scalar>
    ) -> Bool {
        precondition(a.rows == order && a.columns == order && root.rows == order && root.columns == order,
                     "InverseRoot on a matrix of another order")
        guard order > 0 else { return true }
        let n = order
        vectors.withMutableView { v in a.withView { v.update(from: $0) } }
        guard vectors.withMutableView({ solver.decompose($0) }) == 0 else { return false }
        let values = solver.values
        let largest = Double(values[n - 1])
        guard largest > 0 else {
            root.withMutableView { r in
                r.zero()
                for i in 0..<n { r.base[i * r.leadingDimension + i] = 1 }
            }
            return largest.isFinite || largest == 0
        }
        let shift = epsilon * largest
        // Row i of `vectors` is eigenvector i: scale it by fᵢ^(1/2), then root = Sᵀ·S.
        var finite = true
        vectors.withMutableView { v in
            for i in 0..<n {
                let scale = Scalar(pow(Swift.max(Double(values[i]), 0) + shift, -0.5 / p))
                finite = finite && scale.isFinite
                BLAS.scal(scale, v.rows(i..<i + 1))
            }
        }
        // Sᵀ·S by SYRK (n³ multiply-adds, half a GEMM's), its lower triangle mirrored.
        vectors.withView { s in
            root.withMutableView { r in
                BLAS.syrk(s, transpose: true, into: r)
                Scalar.mirrorLowerTriangle(r.base, n: n, ld: r.leadingDimension)
            }
        }
        return finite && root.withView { $0.isAllFinite }
    }
}
