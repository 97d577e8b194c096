/// What a statistics step observed of a layer, validated: its inputs and the output gradients
/// of the mean loss (`LayerOptimizer.observe(_:inputs:outputGradients:)`), or a conv2d layer's
/// per-sample weight gradients as its backward pass formed them
/// (`LayerOptimizer.observe(_:sampleGradients:)`).
enum LayerStatistics<Scalar: BLASScalar> {
    case activations(inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>)
    /// (K + 1) × (B·c_out): sample i's `dW̃ᵢᵀ` in columns i·c_out..<(i+1)·c_out.
    case sampleGradients(Matrix<Scalar>)
}
