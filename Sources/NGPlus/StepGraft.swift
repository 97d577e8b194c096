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

    /// Grafts the staged direction on the layer's unpreconditioned step: the gradient as
    /// handed in (formed first for a fused dense step), or the matrix form's staged momentum.
    mutating func graftDirection(_ gradient: LayerGradient<Scalar>) {
        switch curvature.kind {
        case .identity, .embedding:
            return
        case .matrix:
            curvature.withMatrix(&update.direction) { block, direction in
                Self.graft(&direction, toNormOf: block.stagedMomentum)
            }
        case .perSample, .kronecker:
            switch gradient {
            case let .matrix(gradient):
                Self.graft(&update.direction, toNormOf: gradient)
            case .dense:
                gradient.write(into: &formedGradient)
                Self.graft(&update.direction, toNormOf: formedGradient)
            }
        }
    }

    /// The flops of a graft: two norms of the parameter, and the gradient formed (2·B·m·n) on a
    /// fused dense step.
    func graftFlopsPerStep(_ settings: Settings) -> Double {
        guard settings.graft == .gradientNorm else { return 0 }
        let size = Double(update.direction.rows * update.direction.columns)
        return 4 * size + (formedGradient.isEmpty ? 0 : 2 * Double(plannedBatch) * size)
    }
}
