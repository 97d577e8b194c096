import Foundation
import NGDistributed
import NGPlus
import NGTrain

/// `ngbench train --model transformer`: the byte-level language model of `Model.transformer`
/// on Debian's fortunes (`TextCorpus`), each optimizer from the same initial weights and the
/// same batches. Adam is AdamW here — decoupled weight decay 0.1, a linear warm-up over the
/// first 5% of the steps, then cosine decay to 0 — the baseline users hold a new optimizer
/// against; SGD, NG+ (on its momentum-SGD base) and K-FAC take the same warm-up and cosine.
/// The learning rates and damping are starting points, not tuned by a grid yet (docs/measurements/sequence-models-2026-11-30.md).
struct LanguageModelRun {
    let optimizer: OptimizerName
    let settings: TrainingSettings
    let shape: (context: Int, width: Int, heads: Int, blocks: Int)
    let sequences: Int
    let stepsPerEpoch: Int
    let seed: UInt64
    /// The processes of a data-parallel run, or nil for one process.
    let communicator: Communicator?

    /// The starting points per optimizer (learning rate, damping, inverse interval). NG+'s:
    /// lr 0.1 with λ = 0.01 diverged on the default model (loss 33 → 461 nats in two epochs of
    /// 40 steps); lr 0.02 with λ = 0.1 trained (docs/measurements/sequence-models-2026-11-30.md).
    static func defaults(
        _ optimizer: OptimizerName, base: NGPlusBase
    ) -> (learningRate: Double, damping: Double, inverseInterval: Int) {
        switch (optimizer, base) {
        case (.adam, _): (3e-3, 0, 1)
        case (.sgd, _): (0.1, 0, 1)
        case (.ngplus, .sgd): (0.02, 0.1, 10)
        case (.ngplus, .adam): (3e-3, 0.1, 10)
        case (.kfac, _): (0.05, 0.1, 10)
        case (.muon, _): (0.02, 0, 1)
        case (.shampoo, _): (3e-3, 0, 10)
        }
    }

    /// Trains for `epochs`; returns the epochs' records and where the steps' time went.
    func run(
        corpus: TextCorpus, epochs: Int, progress: ((Int, Int) -> Void)?,
        until: @escaping (SequenceRecord) -> Bool = { _ in false }
    ) throws -> (records: [SequenceRecord], layerTimes: LayerTimeAccount) {
        let model = try Model<Float>.transformer(
            sequenceLength: shape.context, width: shape.width, heads: shape.heads, blocks: shape.blocks, seed: seed)
        let layerTimes = model.recordLayerTimes()
        return (try train(model, corpus: corpus, epochs: epochs, progress: progress, until: until), layerTimes)
    }

    func train(
        _ model: Model<Float>, corpus: TextCorpus, epochs: Int, progress: ((Int, Int) -> Void)?,
        until: @escaping (SequenceRecord) -> Bool
    ) throws -> [SequenceRecord] {
        let defaults = Self.defaults(optimizer, base: settings.ngplusBase)
        let lr = settings.learningRate ?? defaults.learningRate
        let lambda = settings.damping ?? defaults.damping
        let k = settings.inverseInterval ?? defaults.inverseInterval
        let steps = epochs * stepsPerEpoch
        let schedule = Schedule.warmup(
            steps: max(1, steps / 20), start: 0, then: .cosine(initial: lr, final: 0, steps: max(1, steps - steps / 20)))
        let adamW = AdamSettings(learningRate: schedule, weightDecay: 0.1, weightDecayMode: .decoupled)
        var choice = OptimizerChoice(
            name: optimizer, settings: settings, schedule: schedule, damping: lambda, inverseInterval: k,
            side: settings.side ?? .automatic, adam: adamW, batchRows: sequences * shape.context)
        // Muon's and Shampoo's vectors, LayerNorm and the byte table by AdamW; Shampoo decays
        // its matrices as AdamW does.
        (choice.muonAdam, choice.shampooAdam, choice.shampooWeightDecay) = (adamW, adamW, 0.1)
        return try choice.build(for: SequenceFit(
            model: model, trainer: try SequenceTrainer(
                sequences: sequences, length: shape.context, stepsPerEpoch: stepsPerEpoch, seed: seed),
            name: settings.recordName(optimizer), corpus: corpus, epochs: epochs, context: shape.context,
            communicator: communicator,
            progress: progress ?? ProgressBar(label: "transformer \(settings.recordName(optimizer))").update, until: until))
    }

    /// The epochs of every run, then per optimizer the best validation bits per byte, the first
    /// epoch and seconds at which it reached AdamW's final figure (when AdamW ran).
    static func printRecords(_ records: [SequenceRecord]) {
        let rows = records.map { r in
            [r.optimizer, "\(r.seed)", "\(r.epoch)", Report.format(r.trainLoss, 4), Report.format(r.validationBitsPerByte, 4),
             Report.format(r.tokensPerSecond, 0), Report.format(r.seconds, 1)]
        }
        Report.printTable(
            header: ["optimizer", "seed", "epoch", "train loss (nats)", "validation bits/byte", "tokens/s", "seconds"], rows: rows)
        guard let adam = records.last(where: { $0.optimizer == OptimizerName.adam.rawValue }) else { return }
        print()
        print("AdamW's final validation: \(Report.format(adam.validationBitsPerByte, 4)) bits/byte")
        let names = records.reduce(into: [String]()) { if !$0.contains($1.optimizer) { $0.append($1.optimizer) } }
        let summary = names.map { name -> [String] in
            let runs = records.filter { $0.optimizer == name }
            let reached = runs.first { $0.validationBitsPerByte <= adam.validationBitsPerByte }
            return [name, Report.format(runs.map(\.validationBitsPerByte).min()!, 4),
                    reached.map { "epoch \($0.epoch), \(Report.format($0.seconds, 1)) s" } ?? "not reached"]
        }
        Report.printTable(header: ["optimizer", "best bits/byte", "AdamW's final reached"], rows: summary)
    }

    /// Validation bits per byte against training seconds and epochs, one line per optimizer.
    static func writeSVG(_ records: [SequenceRecord], to path: String) throws {
        try TrainingReport.writeChart(
            records.map {
                ChartPoint(series: $0.optimizer, seconds: $0.seconds, epoch: $0.epoch, value: $0.validationBitsPerByte)
            },
            label: "validation bits per byte (lower is better)", format: { Report.format($0, 2) }, to: path)
    }

    /// Every epoch of every run as CSV: optimizer, seed, epoch, training loss (nats per token),
    /// validation bits per byte, tokens per second, cumulative seconds.
    static func writeCSV(_ records: [SequenceRecord], to path: String) throws {
        var lines = ["optimizer,seed,epoch,train_loss_nats,validation_bits_per_byte,tokens_per_second,seconds"]
        for r in records {
            lines.append("\(r.optimizer),\(r.seed),\(r.epoch),\(r.trainLoss),\(r.validationBitsPerByte),\(r.tokensPerSecond),\(r.seconds)")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Registers the language model with the optimizer it is handed (wrapped in `DataParallel`
/// on several processes, whole sequences each) and trains it.
struct SequenceFit: OptimizerUser {
    let model: Model<Float>
    let trainer: SequenceTrainer
    let name: String
    let corpus: TextCorpus
    let epochs: Int
    let context: Int
    let communicator: Communicator?
    let progress: (Int, Int) -> Void
    /// Stops after the first epoch whose record meets it (a race's target).
    var until: (SequenceRecord) -> Bool = { _ in false }

    func train<O: StatisticsSharing>(with optimizer: O) throws -> [SequenceRecord] where O.Scalar == Float {
        if let communicator {
            var parallel = try DataParallel(
                optimizer, communicator: communicator, globalBatch: trainer.sequences * context, rowsPerSample: context)
            try model.register(with: &parallel)
            try model.countOptimizerFlops(of: parallel.base)
            return try trainer.train(
                model, synchronizing: &parallel, name: name, corpus: corpus, epochs: epochs, progress: progress,
                until: until)
        }
        var o = optimizer
        try model.register(with: &o)
        try model.countOptimizerFlops(of: o)
        return try trainer.train(
            model, optimizer: &o, name: name, corpus: corpus, epochs: epochs, progress: progress, until: until)
    }
}
