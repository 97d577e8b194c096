import ArgumentParser
import Foundation
import NGDistributed
import NGPlus
import NGTrain

extension ModelName: ExpressibleByArgument {}
extension OptimizerName: ExpressibleByArgument {}
extension NGPlusBase: ExpressibleByArgument {}
extension SideChoice: ExpressibleByArgument {}
extension CurvatureMethod: ExpressibleByArgument {}
extension LearningRatePolicy: ExpressibleByArgument {}
extension StepGraft: ExpressibleByArgument {}
extension DampingForm: ExpressibleByArgument {}

/// `ngbench train`: a real network on Fashion-MNIST with NG+ or a baseline, or all of them.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the MLP or CNN on Fashion-MNIST with NG+, SGD, Adam or K-FAC (--compare: all of them).")

    @Option(help: "mlp (784→256→256→10), cnn (conv32-pool-conv64-pool-dense128-dense10), resnet (ResNet-20 with batch normalization), transformer (a byte-level language model on Debian's fortunes), dlrm (a recommender on a generated click log) or schnet (a molecular model on generated Lennard-Jones clusters).") var model: ModelName = .mlp
    @Option(help: "ngplus, sgd, adam, kfac, muon or shampoo.") var optimizer: OptimizerName = .ngplus
    @Flag(help: "Run every optimizer on the same model and seed.") var compare = false
    @Option(help: "Epochs.") var epochs = 10
    @Option(help: "Mini-batch size.") var batch = 128
    @Option(help: "Seed of the initialisation and the shuffling.") var seed: UInt64 = 1
    @Option(help: "Run every optimizer with this many seeds (--seed, --seed + 1, …) and report medians and ranges.") var seeds = 1
    @Option(help: "Test accuracy the summary measures the time to (default: 0.88 for the MLP, 0.91 for the CNN and the ResNet, 0.69 for the DLRM), or SchNet's test error per atom to fall to (default: 0.06 ε).") var target: Double?
    @Option(help: "Learning rate (default: the optimizer's, see docs/TRAINING.md).") var lr: Double?
    @Option(help: "Learning rate over the run, for every optimizer: constant, or cosine decay to 0.") var lrSchedule: LearningRatePolicy = .constant
    @Option(help: "Damping λ of NG+ and K-FAC.") var damping: Double?
    @Option(help: "Inverse interval k of NG+ and K-FAC.") var inverseInterval: Int?
    @Option(help: "NG+ side: automatic (fewest flops), left or right (default: right, see docs/TRAINING.md).") var side: SideChoice?
    @Option(help: "NG+ running average α (default 1: the paper's).") var runningAverage: Double?
    @Option(help: "NG+'s and K-FAC's statistics interval (default: the inverse interval, the paper's).") var statisticsInterval: Int?
    @Option(help: "NG+ block size of a block-diagonal GFIM (default 1024).") var blockSize: Int?
    @Option(help: "NG+ inversion: explicitInverse, choleskySolve or woodbury (default: the fewest flops per layer).") var method: CurvatureMethod?
    @Option(help: "NG+'s step along its direction: sgd (momentum SGD, the paper's) or adam (Adam; AdamW on the transformer), as the authors did for SchNet.") var ngplusBase: NGPlusBase = .sgd
    @Option(help: "NG+'s step size: none (its direction's own, the paper's) or gradientNorm (each layer's step as long as the gradient's: NG+ at its base's learning rate) or adamNorm (as long as Adam's step: NG+ at a learning rate of Adam's order, 1e-3 in the race).") var graft: StepGraft = .none
    @Option(help: "NG+'s damping form: plain, squareRoot, clampedSquareRoot or relative (λ times the mean eigenvalue of the GFIM); default: the paper's per layer kind.") var dampingForm: DampingForm?
    @Flag(help: "MLP, CNN and ResNet: random crops (padding 2) and horizontal flips of the training images, drawn anew every epoch.") var augment = false
    @Option(help: "Folder of the four IDX files.") var data = FashionMNIST.defaultDirectory
    @Option(help: "Use only the first N training examples (quick runs).") var trainLimit: Int?
    @Option(help: "OpenBLAS threads.") var threads: Int?
    @Option(help: "Write every epoch of every optimizer as CSV.") var csv: String?
    @Option(help: "Draw test accuracy (the transformer: validation bits per byte; SchNet: test error per atom) against seconds and epochs as SVG.") var plot: String?
    @Option(help: "Transformer: bytes of context (tokens a sequence).") var context = 128
    @Option(help: "Transformer: model width.") var width = 128
    @Option(help: "Transformer: attention heads.") var heads = 4
    @Option(help: "Transformer: blocks (attention + MLP).") var blocks = 4
    @Option(help: "Transformer: sequences a batch (--batch is the images' batch).") var sequences = 16
    @Option(help: "Transformer: steps an epoch.") var stepsPerEpoch = 100
    @Option(help: "SchNet: molecules a batch (--batch is the images' batch).") var molecules = 32
    @Flag(help: "Data-parallel over the processes of mpirun (on by itself under mpirun): each trains on its share of every batch; rank 0 prints and writes.")
    var distributed = false

    var settings: TrainingSettings {
        TrainingSettings(
            learningRate: lr, damping: damping, inverseInterval: inverseInterval, batchSize: batch, side: side,
            runningAverage: runningAverage, statisticsInterval: statisticsInterval, blockSize: blockSize,
            method: method, learningRatePolicy: lrSchedule, ngplusBase: ngplusBase,
            augmentation: augment ? try! ImageAugmentation(padding: 2) : nil, graft: graft, dampingForm: dampingForm)
    }

    func validate() throws {
        try settings.validate()
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let trainLimit, trainLimit < batch { throw ValidationError("--train-limit must be at least --batch (\(batch)), got \(trainLimit)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if seeds < 1 || seeds > 1000 { throw ValidationError("--seeds must be in 1...1000, got \(seeds)") }
        if let target, !(target > 0 && target <= 1) { throw ValidationError("--target must be in (0, 1], got \(target)") }
        if augment && (model == .dlrm || model == .transformer || model == .schnet) {
            throw ValidationError("--augment is for images: not for --model \(model.rawValue)")
        }
    }

    func run() throws {
        if model == .transformer { return try runLanguageModel() }
        if model == .schnet { return try runSchNet() }
        let (communicator, printing) = try startProcesses()
        let clickLog = model == .dlrm ? try ModelName.clickLog() : nil
        let (fullTrain, test) = if let clickLog { (clickLog.train, clickLog.test) } else { try FashionMNIST.load(directory: data) }
        let train = fullTrain.prefix(trainLimit)
        let network = try model.classifier(seed: seed)
        // Every process measures at once (all cores busy, as in training); the bound of a
        // data-parallel run is at the processes' summed rate.
        let rateBefore = try FlopBound.measureSGEMM(summedOver: communicator)
        var records: [EpochRecord] = []
        var layerTimes: [(optimizer: String, account: LayerTimeAccount)] = []
        var clicks: [ClickReport.Row] = []
        for runSeed in seed..<(seed + UInt64(seeds)) {
            for name in compare ? OptimizerName.allCases : [optimizer] {
                guard let run = try Self.unlessDiverged(settings.recordName(name), seed: runSeed, printing: printing, {
                    try TrainingRun(
                        model: model, optimizer: name, settings: settings, seed: runSeed, communicator: communicator
                    ).run(train: train, test: test, epochs: epochs, progress: printing ? nil : { _, _ in })
                }) else { continue }
                records += run.records
                if runSeed == seed { layerTimes.append((settings.recordName(name), run.layerTimes)) }
                if clickLog != nil {
                    clicks.append(.init(
                        optimizer: settings.recordName(name), seed: runSeed, metrics: try ClickMetrics.evaluate(run.network, on: test)))
                }
            }
        }
        let rateAfter = try FlopBound.measureSGEMM(summedOver: communicator)
        defer { communicator?.finalize() }
        guard printing else { return }
        if let communicator {
            print("data-parallel: \(communicator.size) process\(communicator.size == 1 ? "" : "es"), \(OpenBLAS.threadCount) OpenBLAS thread(s) each, batch \(batch) split as \(communicator.rowShares(globalBatch: batch))")
        }
        TrainingReport.printTable(records)
        TrainingReport.printSummary(records, target: target ?? model.defaultTarget)
        let bound = FlopBound(
            account: network.flopAccount, samplesPerEpoch: train.count / batch * batch,
            sgemmGflops: max(rateBefore, rateAfter))
        TrainingReport.printFlopBound(bound, records: records)
        if let clickLog { ClickReport.print(clicks, log: clickLog) }
        // One process's rows against one process's rate: the account is this process's.
        let rate = bound.sgemmGflops / Double(communicator?.size ?? 1)
        for (name, account) in layerTimes { LayerTimeReport.print(account, optimizer: name, sgemmGflops: rate) }
        if let csv { try TrainingReport.writeCSV(records, to: csv) }
        if let plot { try TrainingReport.writeSVG(records, to: plot) }
    }
}

extension Train {
    /// `--model transformer`: every optimizer asked for on the fortunes corpus; data-parallel
    /// under mpirun (each process whole sequences of every batch), rank 0 printing.
    func runLanguageModel() throws {
        for (flag, value) in [("--context", context), ("--width", width), ("--heads", heads), ("--blocks", blocks),
                              ("--sequences", sequences), ("--steps-per-epoch", stepsPerEpoch)] where value < 1 {
            throw ValidationError("\(flag) must be at least 1, got \(value)")
        }
        let (communicator, printing) = try startProcesses()
        let corpus = try TextCorpus.fortunes()
        let rateBefore = try FlopBound.measureSGEMM(summedOver: communicator)
        var records: [SequenceRecord] = []
        var layerTimes: [(optimizer: String, account: LayerTimeAccount)] = []
        for runSeed in seed..<(seed + UInt64(seeds)) {
            for name in compare ? OptimizerName.allCases : [optimizer] {
                guard let run = try Self.unlessDiverged(settings.recordName(name), seed: runSeed, printing: printing, {
                    try LanguageModelRun(
                        optimizer: name, settings: settings, shape: (context, width, heads, blocks), sequences: sequences,
                        stepsPerEpoch: stepsPerEpoch, seed: runSeed, communicator: communicator
                    ).run(corpus: corpus, epochs: epochs, progress: printing ? nil : { _, _ in })
                }) else { continue }
                records += run.records
                if runSeed == seed { layerTimes.append((settings.recordName(name), run.layerTimes)) }
            }
        }
        let rateAfter = try FlopBound.measureSGEMM(summedOver: communicator)
        defer { communicator?.finalize() }
        guard printing else { return }
        if let communicator {
            print("data-parallel: \(communicator.size) process\(communicator.size == 1 ? "" : "es"), "
                + "\(OpenBLAS.threadCount) OpenBLAS thread(s) each, \(sequences) sequences a batch split by whole sequences")
        }
        print("fortunes: \(corpus.trainingFortunes) fortunes (\(corpus.training.count) bytes) to train on, "
            + "\(corpus.validationFortunes) (\(corpus.validation.count) bytes) to validate; model: \(blocks) blocks, "
            + "width \(width), \(heads) heads, context \(context); \(sequences) sequences a batch, \(stepsPerEpoch) steps an epoch")
        LanguageModelRun.printRecords(records)
        // One process's rows against one process's rate: the account is this process's.
        let rate = max(rateBefore, rateAfter) / Double(communicator?.size ?? 1)
        for (name, account) in layerTimes { LayerTimeReport.print(account, optimizer: name, sgemmGflops: rate) }
        if let csv { try LanguageModelRun.writeCSV(records, to: csv) }
        if let plot { try LanguageModelRun.writeSVG(records.filter { $0.seed == seed }, to: plot) }
    }
}

extension Train {
    /// `run()`, or nil when its training diverged — a step met a non-finite gradient, loss or
    /// update, which the optimizers refuse by default — said in one line, so that one
    /// optimizer's divergence does not end a comparison. Every process of a data-parallel run
    /// meets the same error in the same step, so all go on alike. Other errors are thrown.
    static func unlessDiverged<Result>(
        _ name: String, seed: UInt64, printing: Bool, _ run: () throws -> Result
    ) throws -> Result? {
        do {
            return try run()
        } catch let error as NGError {
            guard case .nonFinite = error else { throw error }
            if printing { print("\n\(name) seed \(seed) diverged, left out of the tables: \(error)") }
            return nil
        }
    }

    /// The processes of a data-parallel run (under `mpirun`, or with `--distributed`; nil: one
    /// process) and whether this one prints (rank 0), its OpenBLAS threads set (`--threads`, or
    /// the cores shared by the processes on its machine) and idle BLAS threads quieted.
    func startProcesses() throws -> (communicator: Communicator?, printing: Bool) {
        let communicator = distributed || Communicator.isLaunched ? try Communicator.world() : nil
        if let threads {
            OpenBLAS.setThreadCount(threads)
        } else if let communicator {
            OpenBLAS.setThreadCount(DistributedThreads.perProcess(size: communicator.size))
        }
        let printing = (communicator?.rank ?? 0) == 0
        Self.quietIdleBLASThreads(printing: printing)
        return (communicator, printing)
    }

    /// Training runs its own loops (im2col, pooling, attention's softmax) between BLAS calls, on
    /// the cores OpenBLAS's idle threads would spin on for 2²⁸ cycles after each call: they
    /// sleep after 2⁴ instead (`OpenBLAS.setIdleThreadTimeout`), unless the user set
    /// `OPENBLAS_THREAD_TIMEOUT`. One line says which.
    static func quietIdleBLASThreads(printing: Bool) {
        let set = OpenBLAS.setIdleThreadTimeout(exponent: 4)
        guard printing else { return }
        let exponent = OpenBLAS.idleThreadTimeout.map { "2^\($0) cycles" } ?? "OpenBLAS's default"
        print("OpenBLAS idle threads sleep after \(exponent) (" + (set
            ? "set by ngbench train; OPENBLAS_THREAD_TIMEOUT overrides it)"
            : "OPENBLAS_THREAD_TIMEOUT or this BLAS's own)"))
    }
}

/// OpenBLAS threads of a data-parallel run on this machine.
enum DistributedThreads {
    /// This machine's cores over the processes mpirun started on it, and no more than the cores
    /// this process is bound to (mpirun binds each process to a core by default: two threads
    /// on one core run slower than one); at least one.
    static func perProcess(size: Int) -> Int {
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? size
        let share = ProcessInfo.processInfo.activeProcessorCount / max(local, 1)
        return max(1, min(share, boundCores() ?? share))
    }

    /// The CPUs in this process's affinity mask (`Cpus_allowed` of /proc/self/status, a
    /// comma-separated hexadecimal mask), or nil when it cannot be read.
    static func boundCores() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return nil }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
        return mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
    }
}

/// One optimizer on one model: builds both from the settings and trains.
struct TrainingRun {
    let model: ModelName
    let optimizer: OptimizerName
    let settings: TrainingSettings
    let seed: UInt64
    /// The processes of a data-parallel run, or nil for one process.
    var communicator: Communicator?
    /// When test accuracy is measured (the race's: more than once an epoch).
    var validation = ValidationSchedule.everyEpoch

    /// Trains for `epochs`; `progress` is called after every step (default: a progress bar).
    /// Returns the epochs' records and where the steps' time went.
    func run(
        train: Dataset, test: Dataset, epochs: Int, progress: ((Int, Int) -> Void)? = nil,
        until: @escaping (EpochRecord) -> Bool = { _ in false }
    ) throws -> (records: [EpochRecord], layerTimes: LayerTimeAccount, network: Model<Float>) {
        let network = try model.classifier(seed: seed)
        let layerTimes = network.recordLayerTimes()
        let records = try trainNetwork(network, train: train, test: test, epochs: epochs, progress: progress, until: until)
        return (records, layerTimes, network)
    }

    func trainNetwork(
        _ network: Model<Float>, train: Dataset, test: Dataset, epochs: Int, progress: ((Int, Int) -> Void)?,
        until: @escaping (EpochRecord) -> Bool
    ) throws -> [EpochRecord] {
        let defaults = TrainingSettings.defaults(optimizer)
        let lr = settings.learningRate ?? defaults.learningRate
        let schedule = settings.learningRatePolicy.schedule(lr, steps: epochs * (train.count / settings.batchSize))
        let choice = OptimizerChoice(
            name: optimizer, settings: settings, schedule: schedule, damping: settings.damping ?? defaults.damping,
            inverseInterval: settings.inverseInterval ?? defaults.inverseInterval, side: settings.side ?? defaults.side,
            adam: AdamSettings(learningRate: schedule), batchRows: settings.batchSize)
        return try choice.build(for: ClassifierFit(
            network: network, trainer: try Trainer(
                batchSize: settings.batchSize, seed: seed, augmentation: settings.augmentation, validation: validation),
            name: settings.recordName(optimizer), train: train, test: test, epochs: epochs, globalBatch: settings.batchSize,
            communicator: communicator,
            progress: progress ?? ProgressBar(label: "\(model.rawValue) \(settings.recordName(optimizer))").update, until: until))
    }
}

/// Registers a classifier with the optimizer it is handed (wrapped in `DataParallel` on several
/// processes) and trains it.
struct ClassifierFit: OptimizerUser {
    let network: Model<Float>
    let trainer: Trainer
    let name: String
    let train: Dataset
    let test: Dataset
    let epochs: Int
    let globalBatch: Int
    let communicator: Communicator?
    let progress: (Int, Int) -> Void
    /// Stops after the first epoch whose record meets it (a race's target).
    var until: (EpochRecord) -> Bool = { _ in false }

    func train<O: StatisticsSharing>(with optimizer: O) throws -> [EpochRecord] where O.Scalar == Float {
        if let communicator {
            var parallel = try DataParallel(optimizer, communicator: communicator, globalBatch: globalBatch)
            try network.register(with: &parallel)
            try network.countOptimizerFlops(of: parallel.base)
            return try trainer.train(
                network, synchronizing: &parallel, name: name, train: train, test: test, epochs: epochs, progress: progress,
                until: until)
        }
        var o = optimizer
        try network.register(with: &o)
        try network.countOptimizerFlops(of: o)
        return try trainer.train(
            network, optimizer: &o, name: name, train: train, test: test, epochs: epochs, progress: progress, until: until)
    }
}

/// A progress bar with ETA on stderr, redrawn at most ten times a second.
final class ProgressBar {
    let label: String
    let start = DispatchTime.now().uptimeNanoseconds
    var lastDraw: UInt64 = 0

    init(label: String) { self.label = label }

    func update(_ step: Int, _ total: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 100_000_000 || step == total else { return }
        lastDraw = now
        let elapsed = Double(now - start) / 1e9
        let fraction = Double(step) / Double(total)
        let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
        let filled = Int(fraction * 30)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        let line = String(format: "\r%@ [%@] %3.0f%% %6.1fs ETA %6.1fs", label, bar, 100 * fraction, elapsed, eta)
        FileHandle.standardError.write(Data((line + (step == total ? "\n" : "")).utf8))
    }
}
