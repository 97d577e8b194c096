// ngdistcheck: the same-answer and failure checks of data-parallel training, run under mpirun by
// NGDistributedTests. Every process trains a small Double model for a few steps twice: alone
// on the whole batch (the reference, the package's single-process path) and as one process of
// `DataParallel` on its rows of each batch; it prints the largest difference between the two
// models' weights, relative to the weights' largest magnitude, with the tolerance the order of
// the sums allows, and exits 0 when it is within it.
//
//   ngdistcheck --optimizer ngplus|ngplus-adam|woodbury|kfac|sgd|adam|muon|shampoo
//               --model mlp|cnn|resnet|transformer|dlrm|schnet [--steps N]
//               [--fail-rank R --fail-step S] [--kill-rank R --kill-step S]
//
// --fail: rank R's rows of step S carry a NaN (NG+ throws it in observe); every process must
// throw in that step — R its own `nonFinite`, the others `peerFailed` — and exit 3.
// --short-rank R (with --fail-step S): rank R's rows of step S lack a column, so its forward
// pass fails at the first layer, before any batch normalization sum: the other processes must
// not wait for it, and every process must throw in that step.
// --kill: rank R SIGKILLs itself at step S; mpirun must end the run.
// --mismatch-rank R: every process must throw `mismatch` at the first step.
import Foundation
import NGAllocationCounter
import NGDistributed
import NGPlus
import NGTrain

/// One line on standard error, unbuffered: mpirun may end the run right after.
func say(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let optimizerName = option("--optimizer") ?? "ngplus"
let modelName = option("--model") ?? "mlp"
let steps = Int(option("--steps") ?? "6")!
/// --save-at S --checkpoint DIR: after S steps, rank 0 writes the optimizer's state and the
/// weights into DIR. --resume DIR --from S: every process starts from them at step S (at any
/// number of processes); the comparison with the single-process reference after all steps is
/// the same.
let saveAt = Int(option("--save-at") ?? "-1")!
let checkpoint = option("--checkpoint").map { URL(fileURLWithPath: $0) }
let resume = option("--resume").map { URL(fileURLWithPath: $0) }
let resumeFrom = Int(option("--from") ?? "0")!
let failRank = option("--fail-rank").flatMap { Int($0) }
let failStep = Int(option("--fail-step") ?? "-1")!
let shortRank = option("--short-rank").flatMap { Int($0) }
let killRank = option("--kill-rank").flatMap { Int($0) }
let killStep = Int(option("--kill-step") ?? "-1")!
/// --damping λ --max-retries R: NG+'s damping and retries (a λ of 1e-300 with no retries makes
/// the first refresh fail on its owner).
let damping = Double(option("--damping") ?? "1e-2")!
/// --damping-factor f: λ multiplied by f every 2 steps (refreshes after the first that fail and
/// keep the inverse in use, with 1e-149).
let dampingFactor = Double(option("--damping-factor") ?? "1")!
let maxRetries = Int(option("--max-retries") ?? "6")!
/// --count-allocations: after the steps, the heap allocations of four more (warm) steps and the
/// MPI collectives they made, per process; no comparison.
let countAllocations = arguments.contains("--count-allocations")
/// --mismatch-rank R: rank R registers one layer more than the others.
let mismatchRank = option("--mismatch-rank").flatMap { Int($0) }
/// Rows a step: 12, or the SchNet's 5 molecules of 3 atoms (one molecule each on 5 processes).
let batch = modelName == "schnet" ? 15 : 12
let classes = 5

/// The model both runs start from (the same weights: the same seed).
func makeModel() throws -> Model<Double> {
    var generator = SeededGenerator(seed: 7)
    if modelName == "cnn" {
        let geometry = try ConvGeometry(inChannels: 1, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        return Model(layers: [
            try Conv2d<Double>(geometry: geometry, outChannels: 4, computesInputGradient: false, channelMajorOutput: true, using: &generator),
            try MaxPool2x2<Double>(channels: 4, height: 6, width: 6, rectify: true, channelMajorInput: true),
            try Dense<Double>(inputs: 36, outputs: classes, using: &generator),
        ])
    }
    if modelName == "transformer" {
        return try Model<Double>.transformer(sequenceLength: sequenceLength, width: 8, heads: 2, blocks: 1, seed: 7)
    }
    if modelName == "dlrm" {
        return try Model<Double>.dlrm(
            denseFeatures: 4, vocabularies: [dlrmVocabulary, dlrmVocabulary + 10], bag: 2, width: 4, bottom: [8], top: [8],
            seed: 7)
    }
    if modelName == "resnet" {
        return try Model<Double>.resnet(height: 6, width: 6, classes: classes, widths: [3, 4], blocks: 1, seed: 7)
    }
    if modelName == "schnet" {
        return try Model<Double>.schnet(species: 2, atoms: atoms, width: 8, blocks: 2, centers: 6, cutoff: 2.5, seed: 7)
    }
    return Model(layers: [
        try Dense<Double>(inputs: 10, outputs: 32, computesInputGradient: false, using: &generator), ReLU<Double>(),
        try Dense<Double>(inputs: 32, outputs: classes, using: &generator),
    ])
}

/// Tokens a sequence of the transformer (the batch's 12 rows are 6 sequences).
let sequenceLength = 2

/// Atoms a molecule of the SchNet: its filter networks see 2 pair rows an atom row.
let atoms = 3

/// The smaller table of the DLRM (the other has 10 rows more).
let dlrmVocabulary = 30

/// Rows a sample: a sequence of the transformer, a molecule of the SchNet, else one.
let rowsPerSample = modelName == "transformer" ? sequenceLength : modelName == "schnet" ? atoms : 1

/// The transformer reads one token id a row, the DLRM 4 dense features and two bags of 2 ids,
/// the SchNet an atom's species and position, the other models features.
let inputLength = ["cnn": 36, "resnet": 36, "transformer": 1, "dlrm": 8, "schnet": 4][modelName] ?? 10
var dataGenerator = SeededGenerator(seed: 11)
let images = Matrix<Double>(rows: steps * batch, columns: inputLength) { _, column in
    if modelName == "transformer" { return Double(Int.random(in: 0..<TextCorpus.vocabulary, using: &dataGenerator)) }
    if modelName == "dlrm" && column >= 4 { return Double(Int.random(in: 0..<dlrmVocabulary, using: &dataGenerator)) }
    if modelName == "schnet" && column == 0 { return Double(Int.random(in: 0..<2, using: &dataGenerator)) }
    return Double.random(in: -1...1, using: &dataGenerator)
}
let labels = (0..<(steps * batch)).map { _ in Int.random(in: 0..<(modelName == "dlrm" ? 2 : classes), using: &dataGenerator) }
/// The SchNet's target a molecule (one a row; a molecule's is its first row's).
let energies = (0..<(steps * batch)).map { _ in Double.random(in: -1...1, using: &dataGenerator) }

/// What a batch's rows are trained against: class labels, or the SchNet's energy a molecule.
enum Targets {
    case labels(ArraySlice<Int>)
    case energies(Matrix<Double>)
}

/// Rows `range` of step `step`'s batch and their targets (a molecule's energy is its first
/// row's value).
func rows(_ range: Range<Int>, ofStep step: Int) -> (Matrix<Double>, Targets) {
    let first = step * batch + range.lowerBound
    let x = Matrix<Double>(rows: range.count, columns: inputLength) { i, j in images[first + i, j] }
    guard modelName == "schnet" else { return (x, .labels(labels[first..<first + range.count])) }
    return (x, .energies(Matrix(rows: range.count / atoms, columns: 1) { i, _ in energies[first + i * atoms] }))
}

/// One data-parallel training step.
func trainStep<O: SynchronizedOptimizer>(
    _ model: Model<Double>, _ x: Matrix<Double>, _ targets: Targets, _ optimizer: inout O
) throws where O.Scalar == Double {
    switch targets {
    case let .labels(y): _ = try model.trainStep(x, labels: y, synchronizing: &optimizer)
    case let .energies(y): _ = try model.trainStep(x, targets: y, synchronizing: &optimizer)
    }
}

/// One training step of the single-process reference.
func trainStep<O: LayerOptimizer>(
    _ model: Model<Double>, _ x: Matrix<Double>, _ targets: Targets, alone optimizer: inout O
) throws where O.Scalar == Double {
    switch targets {
    case let .labels(y): _ = try model.trainStep(x, labels: y, optimizer: &optimizer)
    case let .energies(y): _ = try model.trainStep(x, targets: y, optimizer: &optimizer)
    }
}

func weights(_ model: Model<Double>) -> [Matrix<Double>] {
    model.trainableLayers.map { $0.weight }
}

/// The weights of every trainable layer, their values in order, as raw Doubles.
func writeWeights(_ model: Model<Double>, to url: URL) throws {
    let values = weights(model).flatMap(\.elements)
    try values.withUnsafeBytes { try Data($0).write(to: url) }
}

/// Weights written by `writeWeights` into a model of the same shape.
func readWeights(_ model: Model<Double>, from url: URL) throws {
    let data = try Data(contentsOf: url)
    var values = [Double](repeating: 0, count: data.count / MemoryLayout<Double>.size)
    _ = values.withUnsafeMutableBytes { data.copyBytes(to: $0) }
    var offset = 0
    for layer in model.trainableLayers {
        let shape = layer.spec.parameterShape
        let count = shape.rows * shape.columns
        layer.weight = try Matrix<Double>(rows: shape.rows, columns: shape.columns, elements: Array(values[offset..<offset + count]))
        offset += count
    }
}

/// The largest condition estimate of the reference's last refreshes (1 without curvature).
func conditionEstimate<O: LayerOptimizer>(_ optimizer: O, _ model: Model<Double>) -> Double {
    var estimate = 1.0
    for layer in model.trainableLayers {
        if let o = optimizer as? NGPlusOptimizer<Double>, let health = try? o.refreshHealth(of: layer.handle) {
            estimate = max(estimate, health.lastConditionEstimate ?? 1)
        }
        if let o = optimizer as? KFACOptimizer<Double>, let health = try? o.refreshHealth(of: layer.handle) {
            estimate = max(estimate, health.lastConditionEstimate ?? 1)
        }
    }
    // Muon: each Newton–Schulz step multiplies a small singular value, and a difference in
    // it, by up to a. Shampoo: a root (λ + ε·λ_max)^(−1/4) moves by up to (1/4)·δλ/(ε·λ_max),
    // a relative amplification of at most 1/ε.
    if let o = optimizer as? MuonOptimizer<Double> {
        estimate = max(estimate, pow(NewtonSchulz<Double>.coefficients.a, Double(o.settings.steps)))
    }
    if let o = optimizer as? ShampooOptimizer<Double> { estimate = max(estimate, 1 / o.settings.epsilon) }
    return estimate
}

func check<O: StatisticsSharing>(_ make: () throws -> O) throws -> Int32 where O.Scalar == Double {
    let communicator = try Communicator.world()
    let rank = communicator.rank

    let model = try makeModel()
    var parallel = try DataParallel(
        try make(), communicator: communicator, globalBatch: batch,
        rowsPerSample: rowsPerSample)
    try model.register(with: &parallel)
    if rank == mismatchRank { _ = try parallel.register(.vector(length: 3)) }
    if let resume {
        try parallel.restore(stateBytes: Array(try Data(contentsOf: resume.appendingPathComponent("optimizer.state"))))
        try readWeights(model, from: resume.appendingPathComponent("weights.bin"))
    }
    for step in (resume == nil ? 0 : resumeFrom)..<steps {
        if step == saveAt, let checkpoint, rank == 0 {
            try parallel.base.save(to: checkpoint.appendingPathComponent("optimizer.state"))
            try writeWeights(model, to: checkpoint.appendingPathComponent("weights.bin"))
        }
        if rank == killRank && step == killStep { kill(getpid(), SIGKILL) }
        var (x, y) = rows(parallel.localRows, ofStep: step)
        if rank == failRank && step == failStep { x[0, 0] = .nan }
        if rank == shortRank && step == failStep {
            x = Matrix(rows: x.rows, columns: inputLength - 1) { i, j in x[i, j] }
        }
        do {
            try trainStep(model, x, y, &parallel)
        } catch {
            say("rank \(rank) step \(step): \(type(of: error)): \(error)")
            communicator.finalize()
            return 3
        }
    }

    if countAllocations {
        let batches = (0..<4).map { rows(parallel.localRows, ofStep: $0) }
        let collectives = parallel.telemetry.collectives
        let before = ng_thread_allocation_count()
        for (x, y) in batches { try trainStep(model, x, y, &parallel) }
        let allocations = ng_thread_allocation_count() - before
        say("rank \(rank): allocations in 4 warm steps: \(allocations), MPI calls \(parallel.telemetry.collectives - collectives)")
        communicator.finalize()
        return 0
    }

    let reference = try makeModel()
    var alone = try make()
    try reference.register(with: &alone)
    for step in 0..<steps {
        let (x, y) = rows(0..<batch, ofStep: step)
        try trainStep(reference, x, y, alone: &alone)
    }

    // The only difference between the runs is the order of the batch's sums (each process sums
    // its rows, then the all-reduce sums the processes): relative error ≲ (B + K)·ε per sum with
    // K the longest inner dimension, amplified by the inverses' condition number κ, over N steps.
    let inner = Double(model.trainableLayers.map { $0.spec.parameterShape.columns }.max()!)
    let kappa = conditionEstimate(alone, reference)
    let tolerance = 10 * Double(steps) * (Double(batch) + inner) * Double.ulpOfOne * kappa
    var worst = 0.0
    for (a, b) in zip(weights(reference), weights(model)) {
        let scale = a.elements.map(abs).max()!
        for (u, v) in zip(a.elements, b.elements) { worst = max(worst, abs(u - v) / scale) }
    }
    // Every process must hold the same state, byte for byte (refreshes adopted from their
    // owners included).
    var digest: UInt64 = 0xcbf29ce484222325
    for byte in parallel.base.stateBytes() { digest = (digest ^ UInt64(byte)) &* 0x100000001b3 }
    var digests = [Int64(bitPattern: digest), -Int64(bitPattern: digest)]
    try communicator.allReduceMax(&digests)
    let identical = digests[0] == -digests[1]
    let telemetry = parallel.telemetry
    let survived = model.trainableLayers.reduce(0) { sum, layer in
        sum + ((parallel.base as? NGPlusOptimizer<Double>).flatMap { try? $0.refreshHealth(of: layer.handle) }?.survivedFailures ?? 0)
    }
    say("rank \(rank): state identical on every process: \(identical); broadcast \(telemetry.broadcastValues) values as refresh owner, all-reduced \(telemetry.allReduceValues), gathered \(telemetry.gatherValues); survived refresh failures \(survived)")
    say("rank \(rank) of \(communicator.size): \(optimizerName) \(modelName) \(steps) steps: relative difference \(worst), tolerance \(tolerance) (kappa \(kappa))")
    communicator.finalize()
    return worst <= tolerance && identical ? 0 : 1
}

/// The SchNet's regression, of unit-scale energies from a random start, diverges under SGD at 0.05.
let sgd = SGDSettings(learningRate: modelName == "schnet" ? 0.01 : 0.05, momentum: 0.9, weightDecay: 1e-4)
do {
    let status: Int32
    switch optimizerName {
    case "ngplus", "woodbury", "ngplus-adam":
        let method: CurvatureMethod = optimizerName == "woodbury" ? .woodbury : .explicitInverse
        status = try check {
            try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
                sgd: sgd, damping: .step(initial: damping, factor: dampingFactor, every: 2), inverseInterval: 2,
                method: method, batchSize: batch,
                maxRetries: maxRetries, adam: optimizerName == "ngplus-adam" ? AdamSettings(learningRate: 1e-2) : nil))
        }
    case "kfac":
        status = try check {
            try KFACOptimizer<Double>(configuration: KFACConfiguration(sgd: sgd, damping: 1e-2, inverseInterval: 2, batchSize: batch))
        }
    case "sgd":
        status = try check { try SGDOptimizer<Double>(settings: sgd) }
    case "adam":
        status = try check { try AdamOptimizer<Double>(settings: AdamSettings(learningRate: 1e-2)) }
    case "muon":
        status = try check { try MuonOptimizer<Double>(settings: MuonSettings()) }
    case "shampoo":
        status = try check {
            try ShampooOptimizer<Double>(settings: ShampooSettings(learningRate: 1e-2, epsilon: 1e-4, inverseInterval: 2))
        }
    default:
        say("unknown optimizer \(optimizerName)")
        status = 2
    }
    exit(status)
} catch {
    say("ngdistcheck: \(error)")
    exit(2)
}
