import Foundation
import Synchronization

/// Shampoo (Gupta, Koren and Singer, 2018) as Distributed Shampoo runs it: per matrix
/// parameter, Kronecker factors `L = Σ G·Gᵀ` and `R = Σ Gᵀ·G` (or their running averages),
/// the direction `L^(−1/4)·M̂·R^(−1/4)` of the gradient's first moment, its inverse roots made
/// every k steps by an eigendecomposition with ε relative to the largest eigenvalue
/// (`InverseRoot`), large dimensions split into blocks, and the step's size grafted from Adam's
/// (the direction scaled to the Frobenius norm of Adam's direction, per layer). Vectors and
/// embedding tables take Adam.
public typealias ShampooOptimizer<Scalar: BLASScalar> = TransformedOptimizer<Shampoo<Scalar>>

/// Every setting of `ShampooOptimizer`.
public struct ShampooSettings: TransformSettings {
    /// The learning rate of matrix parameters: the step has the size of Adam's (1e-3).
    public var learningRate: Schedule
    /// β₁ of the first moment that is preconditioned and of Adam's graft (0.9).
    public var beta1: Double
    /// β₂ of Adam's graft (0.999).
    public var beta2: Double
    /// Running average of the factors, `L ← β·L + (1 − β)·G·Gᵀ`; 1: sums (Distributed
    /// Shampoo's default, 1).
    public var factorDecay: Double
    /// ε of the inverse roots, times the factor's largest eigenvalue (1e-12).
    public var epsilon: Double
    /// ε of Adam's graft (1e-8).
    public var graftEpsilon: Double
    /// k: the inverse roots are made every k steps of a layer (10).
    public var inverseInterval: Int
    /// Blocks of at most this many rows and columns, each with its own factors (1024).
    public var blockSize: Int
    /// Decoupled weight decay of matrix parameters' weight columns (0).
    public var weightDecay: Double
    /// The step of vectors and embedding tables (Adam, lr 1e-3).
    public var adam: AdamSettings

    public init(
        learningRate: Schedule = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, factorDecay: Double = 1,
        epsilon: Double = 1e-12, graftEpsilon: Double = 1e-8, inverseInterval: Int = 10, blockSize: Int = 1024,
        weightDecay: Double = 0, adam: AdamSettings = AdamSettings(learningRate: 1e-3, weightDecayMode: .decoupled)
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.factorDecay = factorDecay
        self.epsilon = epsilon
        self.graftEpsilon = graftEpsilon
        self.inverseInterval = inverseInterval
        self.blockSize = blockSize
        self.weightDecay = weightDecay
        self.adam = adam
    }

    public func validate(_ operation: NGError.Operation) throws(NGError) {
        try matrixStep.validate(operation)
        try operation.requireFraction(beta1, "beta1")
        try operation.requireFraction(beta2, "beta2")
        try operation.require(factorDecay > 0 && factorDecay <= 1, "factorDecay", "must be in (0, 1], got \(factorDecay)")
        try operation.require(epsilon > 0 && epsilon < 1, "epsilon", "must be in (0, 1), got \(epsilon)")
        try operation.requirePositive(graftEpsilon, "graftEpsilon")
        try operation.require(inverseInterval >= 1, "inverseInterval", "must be at least 1, got \(inverseInterval)")
        try operation.require(blockSize, in: 1...(1 << 16), "blockSize")
        try adam.validate(operation)
    }
}

/// Shampoo's direction for one matrix parameter: Adam's moments (for the graft and the
/// preconditioned first moment) and a `ShampooBlock` per block of rows and columns.
public struct Shampoo<Scalar: BLASScalar>: MatrixTransform {
    public typealias MatrixRule = MomentumSGD<Scalar>
    public typealias VectorRule = Adam<Scalar>
    public static var stateKind: String { "ShampooOptimizer" }
    var moments: AdamMoments<Scalar>
    /// Workspace: Adam's direction, whose norm the step takes.
    var graft: Matrix<Scalar>
    var blocks: [ShampooBlock<Scalar>]
    /// Workspace: a block's `L^(−1/4)·M̂`.
    var product: Matrix<Scalar>
    /// Whether the staged step made new roots.
    var refreshing = false
    /// The factors whose roots a refreshing step makes, the largest first, and their
    /// eigendecompositions' multiply-adds together (order³ each): `stageRoots`.
    let roots: [(block: Int, side: Side)]
    let rootWork: Double

    /// Per r × c block, every step: the factors `L += G·Gᵀ` (2r²c) and `R += Gᵀ·G` (2rc²) and
    /// the product `L^{-1/4}·G·R^{-1/4}` (2r²c + 2rc²); every k steps each factor's inverse
    /// root: a symmetric eigendecomposition with vectors (≈ 4n³: the tridiagonal reduction
    /// 4n³/3 and the back-transformation of divide and conquer) and the root formed by SYRK (n³).
    public static func extraFlopsPerStep(shape: Shape, settings: ShampooSettings) -> Double {
        let size = settings.blockSize
        var flops = 0.0
        for rows in stride(from: 0, to: shape.rows, by: size) {
            for columns in stride(from: 0, to: shape.columns, by: size) {
                let r = Double(Swift.min(size, shape.rows - rows))
                let c = Double(Swift.min(size, shape.columns - columns))
                flops += 4 * r * r * c + 4 * r * c * c + 5 * (r * r * r + c * c * c) / Double(settings.inverseInterval)
            }
        }
        return flops
    }

    public init(shape: Shape, settings: ShampooSettings) {
        moments = AdamMoments(shape: shape, stagedRows: shape.rows)
        graft = Matrix(rows: shape.rows, columns: shape.columns)
        let size = settings.blockSize
        let rowBlocks = stride(from: 0, to: shape.rows, by: size).map { $0..<Swift.min($0 + size, shape.rows) }
        let columnBlocks = stride(from: 0, to: shape.columns, by: size).map { $0..<Swift.min($0 + size, shape.columns) }
        let blocks = rowBlocks.flatMap { rows in columnBlocks.map { ShampooBlock<Scalar>(rows: rows, columns: $0) } }
        self.blocks = blocks
        let orders = blocks.indices.flatMap { b in
            [(block: b, side: Side.left, order: blocks[b].rows.count), (b, .right, blocks[b].columns.count)]
        }.sorted { $0.order > $1.order }
        roots = orders.map { ($0.block, $0.side) }
        rootWork = orders.reduce(0) { $0 + pow(Double($1.order), 3) }
        product = Matrix(rows: Swift.min(size, shape.rows), columns: Swift.min(size, shape.columns))
    }

    public mutating func stage(_ direction: inout Matrix<Scalar>, settings: ShampooSettings, t: Int) -> Bool {
        // Adam's graft from the gradient, which `direction` holds until the blocks overwrite it.
        copy(direction, into: &graft)
        var finite = moments.stage(
            &graft, beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.graftEpsilon, t: t,
            weightUpdate: nil)
        refreshing = t % settings.inverseInterval == 0
        let decay = Scalar(settings.factorDecay)
        for b in blocks.indices {
            finite = blocks[b].stageFactors(gradient: direction, decay: decay) && finite
        }
        if refreshing { finite = stageRoots(epsilon: settings.epsilon) && finite }
        // M̂ = M′ / (1 − β₁ᵗ⁺¹), preconditioned block by block into `direction`.
        let correction = 1 / AdamMoments<Scalar>.biasCorrection(settings.beta1, t: t)
        for b in blocks.indices {
            blocks[b].precondition(
                moments.stagedFirst, scale: correction, refreshing: refreshing, workspace: &product, into: &direction)
        }
        let directionNorm = direction.withView { BLAS.nrm2($0.flattened) }
        let graftNorm = graft.withView { BLAS.nrm2($0.flattened) }
        let scale = directionNorm > 0 ? graftNorm / directionNorm : 0
        direction.withMutableView { BLAS.scal(scale, $0.flattened) }
        return finite && direction.withView { $0.isAllFinite }
    }

    /// The inverse fourth roots of every staged factor, several at a time on the cores
    /// (`ConcurrentCalls`). Returns whether all were made.
    mutating func stageRoots(epsilon: Double) -> Bool {
        let failures = Atomic<Int>(0)
        let roots = roots
        blocks.withUnsafeMutableBufferPointer { blocks in
            // Each solve writes only its own factor's workspaces and staged root.
            nonisolated(unsafe) let blocks = blocks
            ConcurrentCalls.forEach(roots.count, work: rootWork) { index in
                let (block, side) = roots[index]
                let made = side == .left
                    ? blocks[block].left.stageRoot(epsilon: epsilon)
                    : blocks[block].right.stageRoot(epsilon: epsilon)
                if !made { failures.add(1, ordering: .relaxed) }
            }
        }
        return failures.load(ordering: .relaxed) == 0
    }

    public mutating func commitStaged() {
        moments.commitStaged()
        for b in blocks.indices { blocks[b].commit(refreshing: refreshing) }
    }

    public func encode(to writer: inout StateWriter) {
        moments.encode(to: &writer)
        for block in blocks { block.encode(to: &writer) }
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        try moments.restore(from: &reader, owner: "Shampoo")
        for b in blocks.indices { try blocks[b].restore(from: &reader) }
    }
}
