import NGAllocationCounter
import NGPlus
import NGTestSupport
import Testing

/// Steady-state steps allocate nothing (DESIGN.md): after two whole cycles of k steps, a third
/// cycle of `observe` and `step` calls on every layer kind makes no heap allocation on the
/// calling thread. `scripts/test` runs with one OpenBLAS thread, whose calls allocate nothing
/// (docs/OPENBLAS.md); a threaded OpenBLAS allocates inside some calls, outside the package.
@Suite(.enabled(if: ng_allocation_counting_available() == 1, "a sanitizer owns malloc: the counter cannot interpose it"))
struct AllocationTests {
    static let k = 3
    static let batch = 8

    /// A dense layer with more inputs than the batch (a rank-B right GFIM: Woodbury), one with
    /// fewer outputs than the batch (the fused step's other association), a convolution, a
    /// matrix parameter and a vector.
    static func specs() throws -> [LayerSpec] {
        let geometry = try ConvGeometry(inChannels: 2, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        return [
            .dense(outputs: 12, inputs: 40, bias: true), .dense(outputs: 3, inputs: 20, bias: true),
            .conv2d(geometry: geometry, outChannels: 4, bias: true), .matrix(rows: 5, columns: 9), .vector(length: 7),
            .embedding(vocabulary: 50, width: 6),
        ]
    }

    /// Every argument of every call, made before counting starts.
    struct Workload {
        var handles: [LayerHandle] = []
        var weights: [Matrix<Float>] = []
        var gradients: [Matrix<Float>] = []
        var inputs: [Matrix<Float>?] = []
        var outputGradients: [Matrix<Float>?] = []
        /// An embedding table's lookups per step, in turn (repeats, and different row counts).
        var lookups: [[Int]] = []
        var turn = 0
        let specs: [LayerSpec]

        init<O: LayerOptimizer>(registeringWith optimizer: inout O) throws where O.Scalar == Float {
            specs = try AllocationTests.specs()
            var generator = SeededGenerator(seed: 91)
            for spec in specs {
                handles.append(try optimizer.register(spec))
                let shape = spec.parameterShape
                weights.append(.random(rows: shape.rows, columns: shape.columns, scale: 0.1, using: &generator))
                gradients.append(.random(rows: shape.rows, columns: shape.columns, scale: 0.01, using: &generator))
                let (inputLength, outputLength): (Int?, Int?) = switch spec {
                case let .dense(outputs, inputs, _): (inputs, outputs)
                case let .conv2d(geometry, outChannels, _): (geometry.inputLength, outChannels * geometry.positions)
                case .matrix, .vector: (nil, nil)
                case let .embedding(_, width):
                    (nil, width)
                }
                if case let .embedding(vocabulary, _) = spec {
                    lookups = (0..<2).map { _ in
                        (0..<AllocationTests.batch).map { _ in Int.random(in: 0..<vocabulary / 3, using: &generator) }
                    }
                }
                inputs.append(inputLength.map { .random(rows: AllocationTests.batch, columns: $0, using: &generator) })
                // An embedding's output gradients are one row per lookup.
                outputGradients.append(outputLength.map {
                    .random(rows: AllocationTests.batch, columns: $0, scale: 0.01, using: &generator)
                })
            }
        }

        /// One step of every layer; dense layers take the fused step when `fused`.
        mutating func step<O: LayerOptimizer>(_ optimizer: inout O, fused: Bool) throws where O.Scalar == Float {
            for i in specs.indices {
                if specs[i].isEmbedding, let dy = outputGradients[i] {
                    turn = 1 - turn
                    try optimizer.step(handles[i], table: &weights[i], lookups: lookups[turn], outputGradients: dy)
                    continue
                }
                if let x = inputs[i], let dy = outputGradients[i] {
                    try optimizer.observe(handles[i], inputs: x, outputGradients: dy)
                    if fused, case .dense = specs[i] {
                        try optimizer.step(handles[i], weight: &weights[i], inputs: x, outputGradients: dy)
                        continue
                    }
                }
                try optimizer.step(handles[i], weight: &weights[i], gradient: gradients[i])
            }
        }
    }

    /// The allocations of the fourth cycle of k steps. (Three cycles of warm-up: a layer's third
    /// refresh is the first to empty a damping report of several blocks for reuse, and the Swift
    /// runtime builds the witness tables `Array.removeAll(keepingCapacity:)` needs for an element
    /// type then, once per process — gdb on the counter's malloc shows them in
    /// `swift_getWitnessTable`.)
    func allocationsOfASteadyCycle<O: LayerOptimizer>(_ optimizer: inout O, fused: Bool) throws -> Int
    where O.Scalar == Float {
        var workload = try Workload(registeringWith: &optimizer)
        for _ in 0..<(3 * Self.k) { try workload.step(&optimizer, fused: fused) }
        let before = ng_thread_allocation_count()
        for _ in 0..<Self.k { try workload.step(&optimizer, fused: fused) }
        return ng_thread_allocation_count() - before
    }

    @Test func theCounterSeesAnAllocation() {
        let before = ng_thread_allocation_count()
        let matrix = Matrix<Float>(rows: 8, columns: 8, repeating: 1)
        #expect(ng_thread_allocation_count() > before)
        withExtendedLifetime(matrix) {}
    }

    @Test(arguments: [SideChoice.automatic, .left, .right], [false, true])
    func ngPlusStepsAllocateNothing(side: SideChoice, fused: Bool) throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: Self.k, staggered: true, side: side, batchSize: Self.batch, fusedApply: fused))
        #expect(try allocationsOfASteadyCycle(&optimizer, fused: fused) == 0)
    }

    /// The fused right-side apply of a dense layer with either inverse method (the plan would
    /// take Woodbury at this batch): `[X | 1]·F̂⁻¹` by whole rows of the block, or solves.
    @Test(arguments: [CurvatureMethod.explicitInverse, .choleskySolve])
    func ngPlusFusedRightApplyAllocatesNothing(method: CurvatureMethod) throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: Self.k, side: .right, method: method, batchSize: Self.batch, fusedApply: true))
        #expect(try allocationsOfASteadyCycle(&optimizer, fused: true) == 0)
    }

    @Test(arguments: [StepGraft.gradientNorm, .adamNorm], [false, true])
    func ngPlusWithAGraftAndRelativeDampingAllocatesNothing(graft: StepGraft, fused: Bool) throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            dampingForm: .relative, inverseInterval: Self.k, batchSize: Self.batch, fusedApply: fused, graft: graft))
        #expect(try allocationsOfASteadyCycle(&optimizer, fused: fused) == 0)
    }

    @Test func ngPlusWithARunningAverageAndBlocksAllocatesNothing() throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: Self.k, statisticsInterval: 1, runningAverage: 0.5, blockSize: 5, batchSize: Self.batch))
        #expect(try allocationsOfASteadyCycle(&optimizer, fused: true) == 0)
    }

    @Test func ngPlusOnAnAdamBaseAllocatesNothing() throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: Self.k, batchSize: Self.batch, fusedApply: true, adam: AdamSettings(weightDecayMode: .decoupled)))
        #expect(try allocationsOfASteadyCycle(&optimizer, fused: true) == 0)
    }

    @Test func baselineStepsAllocateNothing() throws {
        var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9, nesterov: true))
        #expect(try allocationsOfASteadyCycle(&sgd, fused: true) == 0)
        var adam = try AdamOptimizer<Float>(settings: AdamSettings())
        #expect(try allocationsOfASteadyCycle(&adam, fused: true) == 0)
        var kfac = try KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: Self.k, batchSize: Self.batch))
        #expect(try allocationsOfASteadyCycle(&kfac, fused: true) == 0)
    }

    /// Muon and Shampoo (blocks of 8, roots every k steps: refreshing and applying steps).
    @Test func muonAndShampooStepsAllocateNothing() throws {
        var muon = try MuonOptimizer<Float>(settings: MuonSettings())
        #expect(try allocationsOfASteadyCycle(&muon, fused: true) == 0)
        var shampoo = try ShampooOptimizer<Float>(settings: ShampooSettings(inverseInterval: Self.k, blockSize: 8))
        #expect(try allocationsOfASteadyCycle(&shampoo, fused: true) == 0)
    }
}
