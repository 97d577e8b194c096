import NGKernels

/// K-FAC's trust region (kfac-pytorch's `kl_clip`), per layer: a preconditioned step `lr·D`
/// changes the model's output distribution by about `½·lr²·⟨D, F·D⟩ ≈ ½·lr²·⟨D, ∇W̃⟩` in KL
/// divergence, F the curvature D was preconditioned with. When `lr²·|⟨D, ∇W̃⟩|` exceeds κ the
/// direction is scaled by `√(κ / (lr²·|⟨D, ∇W̃⟩|))`, so that the step stays within the region
/// where the quadratic model holds; a step inside it is left as it is. kfac-pytorch sums the
/// product over every layer before it scales them all; a `LayerOptimizer` steps one layer at a
/// time, so each layer is held to κ on its own.
extension CurvatureLayer {
    /// The clip's flops: the product ⟨D, ∇W̃⟩, and ∇W̃ formed where the step did not form it.
    func klClipFlopsPerStep(_ settings: Settings) -> Double {
        guard settings.klClip != nil, case let .kronecker(block) = curvature else { return 0 }
        return block.gradientProductFlops
    }

    /// Scales the staged direction of a Kronecker-factored layer into the trust region of
    /// `settings.klClip`. A non-finite product leaves it as it is: the base rule's check then
    /// refuses the step.
    mutating func clipDirection(_ gradient: LayerGradient<Scalar>, _ settings: Settings) {
        guard let kappa = settings.klClip, case .kronecker = curvature.kind else { return }
        let product = curvature.withKronecker(&update.direction) { block, direction in
            block.gradientProduct(direction, gradient)
        }
        let rate = settings.baseRule.learningRate(at: step)
        let change = rate * rate * Double(product).magnitude
        guard change > kappa, change.isFinite else { return }
        BLAS.scal(Scalar((kappa / change).squareRoot()), &update.direction)
    }
}

extension PreconditionedStepSettings {
    /// The base rule's learning rate at step t.
    func learningRate(at t: Int) -> Double {
        switch self {
        case let .momentumSGD(sgd): sgd.learningRate.value(at: t)
        case let .adam(adam): adam.learningRate.value(at: t)
        }
    }
}
