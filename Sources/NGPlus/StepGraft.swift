import NGKernels

/// Where a preconditioned step takes its size from (grafting: Agarwal et al., "Disentangling
/// Adaptive Gradient Methods from Learning Rates", 2020).
public enum StepGraft: String, Sendable, Codable, CaseIterable, DecodingDefault {
    /// The preconditioned direction's own size (the authors' NG+ and K-FAC): the learning rate
    /// and λ together set the step, differently for every model's curvature scale.
    case none
    /// Per layer, the preconditioned direction `D` rescaled to the norm of what the base rule
    /// steps along without preconditioning — the gradient `G` (the momentum `M` for NG+'s
    /// matrix form, whose momentum comes before preconditioning): `D ← D·‖G‖/‖D‖`. The step's
    /// size is then the base rule's and its direction the preconditioner's, so NG+ runs at the
    /// base optimizer's learning rate whatever λ and the curvature's scale. (On the Adam base,
    /// whose step is scaled per coordinate, the rescaling changes only ε's weight.)
    case gradientNorm
    /// Per layer, `D` rescaled to the norm of Adam's step from the same gradients,
    /// `A = m̂/(√v̂ + ε)` with β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸ kept per layer for the graft alone
    /// (Distributed Shampoo's Adam grafting): `D ← D·‖A‖/‖D‖`. Adam's step does not change with
    /// the loss's scale, so neither does the grafted one: NG+ then takes a learning rate of
    /// Adam's order on every model, whatever its gradients' scale.
    case adamNorm

    /// What configurations saved before grafting existed did: no graft.
    public static var decodingDefault: StepGraft { .none }
}

extension CurvatureLayer {
    /// `direction ← direction·‖reference‖/‖direction‖` for `StepGraft.gradientNorm`; a zero
    /// or non-finite direction is left as it is (the base rule's check refuses a non-finite
    /// one).
    static func graft(_ direction: inout Matrix<Scalar>, toNormOf reference: Matrix<Scalar>) {
        let (target, norm) = (BLAS.nrm2(reference), BLAS.nrm2(direction))
        guard norm > 0, norm.isFinite, target.isFinite else { return }
        BLAS.scal(target / norm, &direction)
    }

    /// Grafts the staged direction on the layer's unpreconditioned step: for `gradientNorm`
    /// (a preconditioned block's only) the gradient as handed in (formed first for a fused
    /// dense step) or the matrix form's staged momentum; for `adamNorm` Adam's step from the
    /// gradient (`AdamGraft`; a table grafts in its sparse step). Returns false when Adam's
    /// moments overflow.
    mutating func graftDirection(_ gradient: LayerGradient<Scalar>, _ graft: StepGraft) -> Bool {
        switch (curvature.kind, graft) {
        case (.embedding, _), (_, .none), (.identity, .gradientNorm):
            return true
        case (.matrix, .gradientNorm):
            curvature.withMatrix(&update.direction) { block, direction in
                Self.graft(&direction, toNormOf: block.momentum.staged)
            }
            return true
        case (.perSample, .gradientNorm), (.kronecker, .gradientNorm):
            if case let .matrix(gradient) = gradient {
                Self.graft(&update.direction, toNormOf: gradient)
                return true
            }
            gradient.write(into: &formedGradient)
            Self.graft(&update.direction, toNormOf: formedGradient)
            return true
        case (_, .adamNorm):
            return adamGraft.graft(&update.direction, gradient: gradient, t: step)
        }
    }

    /// The flops of a graft: two norms of the parameter and, for `adamNorm`, Adam's update;
    /// the gradient formed (2·B·m·n) on a fused dense step. (A table's graft works on its
    /// looked-up rows, whose number the plan does not know: not counted.)
    func graftFlopsPerStep(_ settings: Settings) -> Double {
        let size = Double(spec.parameterShape.rows * spec.parameterShape.columns)
        var formed = 0.0
        if case .dense = spec { formed = 2 * Double(plannedBatch) * size }
        return switch (settings.graft, curvature.kind) {
        case (.none, _), (_, .embedding), (.gradientNorm, .identity): 0
        case (.gradientNorm, _): 4 * size + (formedGradient.isEmpty ? 0 : formed)
        case (.adamNorm, _): adamGraft.flopsPerStep(size: size) + formed
        }
    }
}
