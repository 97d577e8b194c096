import Foundation

/// Which side of the gradient a layer's GFIM acts on.
public enum SideChoice: String, Sendable, Codable, CaseIterable {
    /// The side with the fewest flops per step for the layer's shape (see `CurvaturePlan`).
    case automatic
    case left
    case right
}

/// How a layer's damped GFIM is inverted and applied.
public enum CurvatureMethod: String, Sendable, Codable, CaseIterable {
    /// Cholesky factor + inverse, applied by GEMM (DampedInverse `.explicitInverse`).
    case explicitInverse
    /// Cholesky factor, applied by two triangular solves (DampedInverse `.choleskySolve`).
    case choleskySolve
    /// Woodbury identity on the rank-B per-sample GFIM (dense layers, α = 1, statistics
    /// only at refresh steps).
    case woodbury
}

/// The per-layer choice of side and method, with the flop counts it was made on
/// (docs/ALGORITHM.md §6–7). The automatic choice takes, among left and right and (for dense
/// layers whose GFIM is a fresh rank-B one, B < order/2) Woodbury, the fewest flops per step. `B` is the configured batch size, k the inverse interval, s the
/// statistics interval; per step the layer costs `apply + statistics/s + refresh/k` on top
/// of SGD.
public struct CurvaturePlan: Sendable, Equatable, Codable, CustomStringConvertible {
    public let side: Side
    public let method: CurvatureMethod
    /// The order of the GFIM.
    public let order: Int
    /// Block size of a block-diagonal GFIM (= order when it is one block).
    public let blockSize: Int
    /// Flops of `F̂⁻¹·G` (or its fused form) each step.
    public let applyFlops: Double
    /// Flops of one statistics update.
    public let statisticsFlops: Double
    /// Flops of one inverse refresh.
    public let refreshFlops: Double

    /// The extra flops per step over SGD, amortized.
    public func flopsPerStep(inverseInterval: Int, statisticsInterval: Int) -> Double {
        applyFlops + statisticsFlops / Double(statisticsInterval) + refreshFlops / Double(inverseInterval)
    }

    public var description: String {
        "\(side) \(method), order \(order) in blocks of \(blockSize): apply \(Int(applyFlops)), "
            + "statistics \(Int(statisticsFlops)), refresh \(Int(refreshFlops)) flops"
    }

    /// The flops of a batch's per-sample gradients `dY_i·Ũ_iᵀ` of a conv2d layer, part of its
    /// statistics: `2·c_out·(K + 1)·P` a sample (0 for other layers). A layer that hands them
    /// over (`LayerOptimizer.observe(_:sampleGradients:)`) has formed them in its backward pass.
    public static func sampleGradientFlops(_ spec: LayerSpec, batch: Int) -> Double {
        guard case let .conv2d(geometry, outChannels, _) = spec else { return 0 }
        return 2 * Double(batch) * Double(outChannels * spec.parameterShape.columns * geometry.positions)
    }

    /// Σ over the diagonal blocks of `order` in blocks of `blockSize` of `size^power`.
    static func blockSum(_ order: Int, _ blockSize: Int, power: Double) -> Double {
        var total = 0.0
        var start = 0
        while start < order {
            total += pow(Double(min(blockSize, order - start)), power)
            start += blockSize
        }
        return total
    }

    /// The plan of one candidate; `other` is the gradient's other dimension.
    static func candidate(
        side: Side, method: CurvatureMethod, order: Int, other: Int, blockSize: Int,
        batch: Int, statisticsFlops: Double, fused: Bool
    ) -> CurvaturePlan {
        let b = Double(batch)
        let squares = blockSum(order, blockSize, power: 2)
        let cubes = blockSum(order, blockSize, power: 3)
        // Fused: dY·F̂⁻¹ (left) or [X | 1]·F̂⁻¹ (right) has B rows where G has `other`; the
        // fused step takes the smaller (`PerSampleCurvature.applyFused`).
        let width = fused ? min(b, Double(other)) : Double(other)
        let apply: Double
        let refresh: Double
        switch method {
        case .explicitInverse, .choleskySolve:
            apply = 2 * squares * width
            refresh = method == .explicitInverse ? cubes : cubes / 3
        case .woodbury:
            apply = 4 * Double(order) * b * width
            // C = s·I + c·U·Uᵀ (SYRK, B²·order), its Cholesky factor and inverse (B³/3 and
            // 2·B³/3), V = C⁻¹·U (a GEMM, 2·B²·order).
            refresh = 3 * b * b * Double(order) + b * b * b
        }
        return CurvaturePlan(
            side: side, method: method, order: order,
            blockSize: method == .woodbury ? order : min(blockSize, order),
            applyFlops: apply, statisticsFlops: statisticsFlops, refreshFlops: refresh)
    }
}

/// The curvature settings of `NGPlusConfiguration` that decide a layer's plan.
struct PlanRequest {
    var side: SideChoice
    var method: CurvatureMethod?
    var blockSize: Int
    var batch: Int
    var inverseInterval: Int
    var statisticsInterval: Int
    var woodburyAllowed: Bool
    var fused: Bool

    /// The cheapest plan for a preconditioned layer, or `invalidArgument` when the request
    /// cannot be met (Woodbury where the GFIM is not a fresh low-rank one).
    func plan(for spec: LayerSpec, operation: NGError.Operation) throws(NGError) -> CurvaturePlan {
        let shape = spec.parameterShape
        let (rows, columns, b) = (shape.rows, shape.columns, Double(batch))
        var candidates: [CurvaturePlan] = []
        // An embedding table is preconditioned on its right side, over its width, whatever the
        // configured side: its left GFIM would be vocabulary × vocabulary.
        let sides: [Side] = switch side {
        case _ where spec.isEmbedding: [.right]
        case .automatic: [.left, .right]
        case .left: [.left]
        case .right: [.right]
        }
        let isDense = if case .dense = spec { true } else { false }
        let methods: [CurvatureMethod]
        if let method {
            if method == .woodbury && !(isDense && woodburyAllowed) {
                throw .invalidArgument(
                    operation: operation, argument: "method",
                    reason: "woodbury needs a dense layer, runningAverage 1 and statistics only at refresh steps")
            }
            methods = [method]
        } else {
            methods = isDense && woodburyAllowed ? [.explicitInverse, .woodbury] : [.explicitInverse]
        }
        for side in sides {
            let order = side == .left ? rows : columns
            // An embedding step preconditions at most one row per lookup.
            let other = spec.isEmbedding ? min(batch, rows) : side == .left ? columns : rows
            // A dense layer's factor U: each sample's row on this side scaled by the norm of its
            // other side's row (2 flops a value); an explicit GFIM adds U's Gram, which a
            // Woodbury plan never forms.
            var factorRows = 0.0
            if case let .dense(outputs, inputs, _) = spec {
                factorRows = b * (Double(order) + 2 * Double(side == .left ? inputs : outputs))
            }
            let statistics: Double = switch spec {
            case .dense:
                2 * CurvaturePlan.blockSum(order, blockSize, power: 2) * b + factorRows
            case .conv2d:
                // Each sample's gradient dY_i·Ũ_iᵀ, then their Gram by SYRK (one triangle).
                CurvaturePlan.sampleGradientFlops(spec, batch: batch)
                    + b * CurvaturePlan.blockSum(order, blockSize, power: 2) * Double(other)
            case .matrix:
                2 * CurvaturePlan.blockSum(order, blockSize, power: 2) * Double(other)
            case .embedding:
                2 * CurvaturePlan.blockSum(order, blockSize, power: 2) * b
            case .vector:
                0
            }
            for method in methods {
                // Automatic Woodbury only where docs/ALGORITHM.md §7 allows it, rank B < m/2: its
                // error grows with κ(C)·‖G‖/s, so it must win clearly to be worth it.
                if method == .woodbury && self.method == nil && 2 * batch >= order { continue }
                candidates.append(.candidate(
                    side: side, method: method, order: order, other: other, blockSize: blockSize,
                    batch: batch, statisticsFlops: method == .woodbury ? factorRows : statistics, fused: fused && isDense))
            }
        }
        return candidates.min {
            $0.flopsPerStep(inverseInterval: inverseInterval, statisticsInterval: statisticsInterval)
                < $1.flopsPerStep(inverseInterval: inverseInterval, statisticsInterval: statisticsInterval)
        }!
    }
}
