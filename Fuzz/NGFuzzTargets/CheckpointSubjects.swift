import NGKernels
import NGPlus

/// An optimizer trained for three steps on small layers of every kind it takes, with the
/// handles and weights it was trained with: what a fuzzed state is restored into.
struct Subject<Optimizer: LayerOptimizer>: Sendable where Optimizer: Sendable {
    let name: String
    let optimizer: Optimizer
    let handles: [LayerHandle]
    let weights: [Matrix<Optimizer.Scalar>]

    /// Registers `specs`, then three steps of each layer on seeded random data (observed,
    /// then the fused dense step or the gradient step).
    init(name: String, _ optimizer: Optimizer, specs: [LayerSpec]) throws {
        var optimizer = optimizer
        var generator = SeededGenerator(seed: 7)
        var handles: [LayerHandle] = []
        var weights: [Matrix<Optimizer.Scalar>] = []
        for spec in specs {
            handles.append(try optimizer.register(spec))
            let shape = spec.parameterShape
            weights.append(.random(rows: shape.rows, columns: shape.columns, using: &generator))
        }
        for _ in 0..<3 {
            for (i, spec) in specs.enumerated() {
                let shape = spec.parameterShape
                switch spec {
                case let .dense(outputs, inputs, _):
                    let x = Matrix<Optimizer.Scalar>.random(rows: 4, columns: inputs, using: &generator)
                    let dy = Matrix<Optimizer.Scalar>.random(rows: 4, columns: outputs, scale: 0.1, using: &generator)
                    try optimizer.observe(handles[i], inputs: x, outputGradients: dy)
                    try optimizer.step(handles[i], weight: &weights[i], inputs: x, outputGradients: dy)
                case let .conv2d(geometry, outChannels, _):
                    let x = Matrix<Optimizer.Scalar>.random(rows: 4, columns: geometry.inputLength, using: &generator)
                    let dy = Matrix<Optimizer.Scalar>.random(
                        rows: 4, columns: outChannels * geometry.positions, scale: 0.1, using: &generator)
                    try optimizer.observe(handles[i], inputs: x, outputGradients: dy)
                    fallthrough
                case .matrix, .vector:
                    try optimizer.step(handles[i], weight: &weights[i],
                                       gradient: .random(rows: shape.rows, columns: shape.columns, using: &generator))
                case let .embedding(vocabulary, width):
                    let lookups = (0..<5).map { _ in Int.random(in: 0..<vocabulary, using: &generator) }
                    let dy = Matrix<Optimizer.Scalar>.random(rows: 5, columns: width, scale: 0.1, using: &generator)
                    try optimizer.step(handles[i], table: &weights[i], lookups: lookups, outputGradients: dy)
                }
            }
        }
        self.name = name
        self.optimizer = optimizer
        self.handles = handles
        self.weights = weights
    }
}

/// The optimizers the checkpoint target restores into, built once per process.
enum Subjects {
    static let specs: [LayerSpec] = {
        // Valid by construction; `try!` states that a failure here is a bug of the harness.
        let geometry = try! ConvGeometry(inChannels: 1, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, padding: 1)
        return [.dense(outputs: 3, inputs: 5, bias: true), .conv2d(geometry: geometry, outChannels: 2, bias: true),
                .matrix(rows: 4, columns: 3), .vector(length: 3), .embedding(vocabulary: 6, width: 3)]
    }()

    static let ngPlusFloat = try! Subject(
        name: "ngplus-float",
        NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, runningAverage: 0.5, batchSize: 4)),
        specs: specs)
    static let ngPlusDoubleWoodbury = try! Subject(
        name: "ngplus-double-woodbury",
        NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            inverseInterval: 2, side: .right, method: .woodbury, batchSize: 4, fusedApply: true)),
        specs: [specs[0], specs[3]])
    /// With α = 1 the 12-input layer's input factor is low-rank (2·B < 13), the 5-input one's
    /// explicit: both layouts of a K-FAC layer.
    static let kfac = try! Subject(
        name: "kfac-float",
        KFACOptimizer<Float>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 4)),
        specs: specs + [.dense(outputs: 2, inputs: 12, bias: true)])
    static let adam = try! Subject(name: "adam-float", AdamOptimizer<Float>(settings: AdamSettings()), specs: specs)
}
