import NGKernels

/// One Kronecker factor of K-FAC's curvature (A of the inputs or G of the output gradients):
/// the factor in use, the one a statistics step stages, and its damped Cholesky inverse.
struct KFACFactor<Scalar: BLASScalar>: Sendable {
    var factor: BlockDiagonalMatrix<Scalar>
    var staged: BlockDiagonalMatrix<Scalar>
    var inverse: DampedInverse<Scalar>

    init(order: Int, maxRetries: Int) throws(NGError) {
        factor = try BlockDiagonalMatrix(dimension: order, blockSize: order)
        staged = factor
        inverse = try DampedInverse(dimension: order, blockSize: order, maxRetries: maxRetries)
    }

    /// Readies the staged factor for a running average of weight `weight` on the new batch:
    /// the factor in use copied in unless the batch replaces it (`weight == 1`).
    mutating func prepareStaging(weight: Scalar) throws(NGError) {
        if weight != 1 { try staged.assign(from: factor) }
    }

    /// Puts the staged factor in use (checked finite by the caller).
    mutating func commitStaged() { swap(&factor, &staged) }

    /// The flops of its Cholesky inverse: the order cubed.
    var refreshFlops: Double {
        let order = Double(factor.dimension)
        return order * order * order
    }
}

