/// NG+ (docs/ALGORITHM.md): per-layer generalized natural gradient preconditioning, refreshed
/// every k steps, followed by the base rule (SGD with momentum, or Adam).
///
/// Per layer and step t (each layer counts its own steps):
/// - dense and conv2d: `observe` the layer's inputs and output gradients at statistics steps
///   (by default the refresh steps only, as the reference does); `step` refreshes the damped
///   inverse at refresh steps (with `λ_t` from the damping schedule) and moves W̃ along
///   `D = F̂⁻¹·G̃` (or `G̃·F̂⁻¹`) with the base rule;
/// - matrix parameters: the mini-batch GFIM form (see `MatrixCurvature`);
/// - embedding tables: the right-side GFIM of the looked-up rows (`EmbeddingCurvature`);
/// - vectors: the base rule alone.
public typealias NGPlusOptimizer<Scalar: BLASScalar> = LayerwiseOptimizer<NGPlusLayer<Scalar>>

/// NG+'s record of one layer.
public typealias NGPlusLayer<Scalar: BLASScalar> = CurvatureLayer<Scalar, NGPlusConfiguration>

extension LayerwiseOptimizer {
    /// The plan (side, method, flops) NG+ chose for a layer; nil for vectors.
    public func plan<S: BLASScalar>(for layer: LayerHandle) throws(OptimizerError) -> CurvaturePlan?
    where Record == NGPlusLayer<S> {
        try record(layer, .ngPlusPlan).plan
    }
}
