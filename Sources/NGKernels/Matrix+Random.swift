extension Matrix {
    /// A matrix of values drawn uniformly from [-scale, scale]: the package's self-check,
    /// benchmarks and tests (not public API). Inlinable, so that each caller draws through its
    /// own generator type specialized: unspecialized, a draw took the runtime's generic paths.
    @inlinable
    package static func random<G: RandomNumberGenerator>(
        rows: Int, columns: Int, scale: Double = 1, using generator: inout G
    ) -> Matrix {
        Matrix(rows: rows, columns: columns) { _, _ in
            Scalar(Double.random(in: -scale...scale, using: &generator))
        }
    }
}
