import NGPlus
import NGRuntimeCallCounter
import NGTrain
import Testing

/// A warm training step runs no code that Swift left unspecialized per value: its calls into
/// the runtime's paths of unspecialized code — dynamic casts, generic metadata made at run time,
/// witness-table lookups — are a fixed number a step, the same for a batch four times as
/// large (a per-value generic call, an unspecialized loop over the batch, would grow with it),
/// and no dynamic cast at all. Release build only, as the allocation tests.
@Suite(.enabled(if: isOptimizedBuild, "runtime calls are counted in optimized code"))
struct RuntimeCallTests {
    struct Counts: Equatable, CustomStringConvertible {
        var casts = 0, metadata = 0, lookups = 0
        var description: String { "\(casts) dynamic casts, \(metadata) generic metadata, \(lookups) witness lookups" }

        static var now: Counts {
            Counts(casts: ng_thread_dynamic_cast_count(), metadata: ng_thread_generic_metadata_count(),
                   lookups: ng_thread_witness_lookup_count())
        }

        static func - (a: Counts, b: Counts) -> Counts {
            Counts(casts: a.casts - b.casts, metadata: a.metadata - b.metadata, lookups: a.lookups - b.lookups)
        }
    }

    /// The runtime calls of one warm step of `model` on `rows` rows made by `inputs`.
    func callsOfAWarmStep<O: LayerOptimizer>(
        _ model: Model<Float>, _ optimizer: O, rows: Int, inputs: (Int) -> Matrix<Float>
    ) throws -> Counts where O.Scalar == Float {
        var optimizer = optimizer
        try model.register(with: &optimizer)
        let x = inputs(rows)
        let labels = Array((0..<x.rows).map { $0 % 2 })[...]  // classes every model has
        // SchNet's molecules of 4 atoms regress a value each.
        let targets = model.layers.last is AtomPooling<Float>
            ? Matrix<Float>(rows: x.rows / 4, columns: 1) { r, _ in Float(r % 3) / 3 } : nil
        func step() throws {
            if let targets { _ = try model.trainStep(x, targets: targets, optimizer: &optimizer) } else {
                _ = try model.trainStep(x, labels: labels, optimizer: &optimizer)
            }
        }
        for _ in 0..<3 { try step() }
        let before = Counts.now
        try step()
        return Counts.now - before
    }

    static func model(_ name: String) throws -> Model<Float> {
        switch name {
        case "mlp": try .mlp(seed: 1)
        case "cnn": try .cnn(seed: 1)
        case "resnet": try .resnet(widths: [4, 8], blocks: 1, seed: 1)
        case "dlrm": try .dlrm(denseFeatures: 5, vocabularies: [50, 70, 90], bag: 2, width: 8, seed: 1)
        case "schnet": try .schnet(atoms: 4, width: 8, blocks: 2, centers: 6, seed: 1)
        default: try .transformer(sequenceLength: 8, width: 16, heads: 2, blocks: 1, seed: 1)
        }
    }

    /// `rows` samples (sequences of 8 token ids for the Transformer; 5 dense features and
    /// three bags of 2 ids for the DLRM; molecules of 4 atoms for SchNet).
    static func inputs(_ name: String, rows: Int) -> Matrix<Float> {
        switch name {
        case "transformer": Matrix(rows: rows * 8, columns: 1) { r, _ in Float(r % 7) }
        case "dlrm": Matrix(rows: rows, columns: 11) { r, c in c < 5 ? Float((r + c) % 5) / 5 - 0.4 : Float((r * 3 + c) % 50) }
        case "schnet": Matrix(rows: rows * 4, columns: 4) { r, c in c == 0 ? Float(r % 2) : Float((r * 5 + c * 3) % 7) / 4 }
        default: Matrix(rows: rows, columns: 784) { r, c in Float((r * 7 + c) % 13) / 13 }
        }
    }

    @Test(arguments: ["mlp", "cnn", "resnet", "transformer", "dlrm", "schnet"])
    func aWarmStepsRuntimeCallsDoNotGrowWithTheBatch(model name: String) throws {
        func check<O: LayerOptimizer>(_ optimizer: String, _ make: () throws -> O) throws where O.Scalar == Float {
            let small = try callsOfAWarmStep(Self.model(name), make(), rows: 4) { Self.inputs(name, rows: $0) }
            let large = try callsOfAWarmStep(Self.model(name), make(), rows: 16) { Self.inputs(name, rows: $0) }
            #expect(small == large, "\(name) \(optimizer): \(small) at 4 rows, \(large) at 16")
            #expect(small.casts == 0, "\(name) \(optimizer): \(small)")
        }
        let lr = Schedule.constant(1e-3)
        try check("sgd") { try SGDOptimizer<Float>(settings: SGDSettings(learningRate: lr, momentum: 0.9)) }
        try check("adam") { try AdamOptimizer<Float>(settings: AdamSettings(learningRate: lr)) }
        try check("ngplus") {
            try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                inverseInterval: 2, side: .right, batchSize: 8, fusedApply: true))
        }
        try check("kfac") { try KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 8)) }
        try check("muon") { try MuonOptimizer<Float>(settings: MuonSettings(learningRate: lr)) }
        try check("shampoo") { try ShampooOptimizer<Float>(settings: ShampooSettings(learningRate: lr, inverseInterval: 2)) }
    }
}
