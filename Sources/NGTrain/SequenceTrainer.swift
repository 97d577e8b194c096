import Foundation
import NGPlus

/// One epoch of a language model's training, as `ngbench train --model transformer` prints it.
public struct SequenceRecord: Sendable, Equatable {
    public let optimizer: String
    public let seed: UInt64
    public let epoch: Int
    /// Mean training cross-entropy per token, in nats.
    public let trainLoss: Double
    /// Cross-entropy of the validation windows in bits per byte (tokens are bytes).
    public let validationBitsPerByte: Double
    /// Training tokens per second of training time, this epoch.
    public let tokensPerSecond: Double
    /// Cumulative training seconds (forward, backward, optimizer steps; no evaluation).
    public let seconds: Double
}

/// Trains a byte-level language model (`Model.transformer`) on a `TextCorpus`: every step a
/// batch of `sequences` windows of `length` bytes at seeded random places of the training text,
/// the next byte of each token its label; after every epoch of `stepsPerEpoch` steps the
/// validation cross-entropy over fixed windows spread evenly through the validation text.
public struct SequenceTrainer {
    public let sequences: Int
    public let length: Int
    public let stepsPerEpoch: Int
    public let seed: UInt64
    /// Windows of the validation text evaluated after each epoch.
    public let validationWindows: Int

    /// - Throws: `invalidArgument` for a size below 1, or a batch of token rows (`sequences ×
    ///   length`, with their labels) larger than this machine's memory.
    public init(sequences: Int, length: Int, stepsPerEpoch: Int, seed: UInt64, validationWindows: Int = 64) throws(NGError) {
        for (name, value) in [("sequences", sequences), ("length", length), ("stepsPerEpoch", stepsPerEpoch),
                              ("validationWindows", validationWindows)] where value < 1 {
            throw .invalidArgument(operation: .sequenceTrainerInit, argument: name, reason: "must be at least 1, got \(value)")
        }
        // A step's token ids (one Float a row), their labels (one Int a row) and the windows' starts.
        var batch = MemoryRequirement()
        let rows = Double(sequences) * Double(length)
        batch.add("a batch of \(sequences) × \(length) token ids", elements: rows, of: Float.self)
        batch.add("the labels of \(sequences) × \(length) tokens", elements: rows, of: Int.self)
        batch.add("the windows' starts", elements: Double(sequences), of: Int.self)
        try batch.check(.sequenceTrainerInit, argument: "sequences, length")
        self.sequences = sequences
        self.length = length
        self.stepsPerEpoch = stepsPerEpoch
        self.seed = seed
        self.validationWindows = validationWindows
    }

    /// Trains `model` for `epochs` epochs, or until an epoch's record meets `until`;
    /// `progress(step, totalSteps)` after every step.
    /// - Throws: `invalidArgument` when a text is shorter than one window, and what a step throws.
    public func train<O: LayerOptimizer>(
        _ model: Model<Float>, optimizer: inout O, name: String, corpus: TextCorpus, epochs: Int,
        progress: (Int, Int) -> Void = { _, _ in }, until: (SequenceRecord) -> Bool = { _ in false }
    ) throws -> [SequenceRecord] where O.Scalar == Float {
        try run(
            model, name: name, corpus: corpus, epochs: epochs, windows: 0..<sequences, progress: progress, until: until
        ) {
            x, labels in try model.trainStep(x, labels: labels, optimizer: &optimizer)
        }
    }

    /// Trains with a synchronized optimizer (data-parallel, `rowsPerSample` = `length`): every
    /// process draws the same windows and trains on its share of them (`optimizer.localRows`,
    /// whole windows); the losses are the whole batch's, the seconds and tokens per second this
    /// process's (its tokens).
    public func train<O: SynchronizedOptimizer>(
        _ model: Model<Float>, synchronizing optimizer: inout O, name: String, corpus: TextCorpus, epochs: Int,
        progress: (Int, Int) -> Void = { _, _ in }, until: (SequenceRecord) -> Bool = { _ in false }
    ) throws -> [SequenceRecord] where O.Scalar == Float {
        let windows = try optimizer.localSamples(
            rowsPerSample: length, batch: sequences, what: "windows of \(length)", .sequenceTrainerTrain)
        return try run(
            model, name: name, corpus: corpus, epochs: epochs, windows: windows, progress: progress, until: until
        ) { x, labels in try model.trainStep(x, labels: labels, synchronizing: &optimizer) }
    }

    /// The epochs' loop: every step the batch's window starts (the same on every process),
    /// `windows` of them trained on by `trainStep` (which returns the batch's mean loss).
    func run(
        _ model: Model<Float>, name: String, corpus: TextCorpus, epochs: Int, windows: Range<Int>,
        progress: (Int, Int) -> Void, until: (SequenceRecord) -> Bool,
        trainStep: (Matrix<Float>, ArraySlice<Int>) throws -> Double
    ) throws -> [SequenceRecord] {
        try requireWindow(in: corpus.training, part: "training", .sequenceTrainerTrain)
        try requireWindow(in: corpus.validation, part: "validation", .sequenceTrainerTrain)
        var generator = SeededGenerator(seed: seed)
        var starts = [Int](repeating: 0, count: sequences)
        var x = Matrix<Float>(rows: 0, columns: 0)
        var labels: [Int] = []
        var seconds = 0.0
        var records: [SequenceRecord] = []
        for epoch in 1...max(epochs, 1) {
            var (lossSum, epochSeconds) = (0.0, 0.0)
            for step in 0..<stepsPerEpoch {
                for i in starts.indices { starts[i] = Int.random(in: 0..<(corpus.training.count - length), using: &generator) }
                try TextCorpus.tokenWindows(corpus.training, starts: starts[windows], length: length, into: &x, labels: &labels)
                let begin = DispatchTime.now().uptimeNanoseconds
                lossSum += try trainStep(x, labels[...])
                epochSeconds += Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
                progress((epoch - 1) * stepsPerEpoch + step + 1, epochs * stepsPerEpoch)
            }
            seconds += epochSeconds
            records.append(SequenceRecord(
                optimizer: name, seed: seed, epoch: epoch, trainLoss: lossSum / Double(stepsPerEpoch),
                validationBitsPerByte: try validationBitsPerByte(model, corpus: corpus, batch: windows.count),
                tokensPerSecond: Double(stepsPerEpoch * windows.count * length) / epochSeconds, seconds: seconds))
            if until(records[records.count - 1]) { break }
        }
        return records
    }

    /// Throws `invalidArgument` (argument `corpus`) when `text` is shorter than one window.
    func requireWindow(in text: [UInt8], part: String, _ operation: NGError.Operation) throws(NGError) {
        try operation.require(
            text.count > length, "corpus",
            "its \(part) text has \(text.count) bytes, fewer than a window of \(length + 1)")
    }

    /// The mean cross-entropy of the validation windows (starts spread evenly), in bits per byte,
    /// in batches of `batch` windows (nil: `sequences`), the last padded to that size by
    /// repeating its last window, whose copies are not counted: a training loop passes the
    /// windows of its own steps, so that the layers keep their buffers (a batch of another shape
    /// reallocates them, there and again in the next, timed step).
    /// - Throws: `invalidArgument` when the validation text is shorter than one window or
    ///   `batch` is below 1, and what the model's forward pass throws.
    public func validationBitsPerByte(_ model: Model<Float>, corpus: TextCorpus, batch: Int? = nil) throws -> Double {
        let text = corpus.validation
        let batch = batch ?? sequences
        try requireWindow(in: text, part: "validation", .sequenceTrainerValidation)
        try NGError.Operation.sequenceTrainerValidation.require(batch >= 1, "batch", "must be at least 1, got \(batch)")
        let span = text.count - length - 1
        let count = min(validationWindows, max(span, 1))
        var loss = SoftmaxCrossEntropy<Float>()
        var x = Matrix<Float>(rows: 0, columns: 0)
        var labels: [Int] = []
        var total = 0.0
        var batchStart = 0
        while batchStart < count {
            let end = min(batchStart + batch, count)
            let starts = ValidationSchedule.batch(batchStart..<end, paddedTo: batch).map { $0 * span / count }
            try TextCorpus.tokenWindows(text, starts: starts[...], length: length, into: &x, labels: &labels)
            var logits = try model.forward(x)
            let rows = (end - batchStart) * length
            if rows < logits.rows {
                let padded = logits
                logits = Matrix(rows: rows, columns: padded.columns) { padded[$0, $1] }
            }
            total += try loss.loss(logits: logits, labels: labels[..<rows]) * Double(end - batchStart)
            batchStart = end
        }
        return total / Double(count) / log(2)
    }
}
