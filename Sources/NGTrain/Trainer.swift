import NGPlus

/// One validation's figures (once an epoch unless the trainer's schedule says more), as
/// `ngbench train` prints and writes them.
public struct EpochRecord: Sendable, Equatable {
    public let optimizer: String
    /// The seed of the initialisation and the shuffling.
    public let seed: UInt64
    /// The epoch the validation was made in (after its last step when once an epoch).
    public let epoch: Int
    /// Training steps before the validation, over all epochs.
    public let steps: Int
    /// Mean training loss of the steps since the previous record.
    public let trainLoss: Double
    public let testAccuracy: Double
    /// Cumulative training seconds: forward, backward and optimizer steps only (no data
    /// loading, no evaluation).
    public let seconds: Double
}

/// Mini-batch training with shuffling from a seed: full batches only (the remainder of an
/// epoch's shuffle is dropped), the training images augmented when asked, test accuracy after
/// each epoch (or as often as `validation` says).
public struct Trainer {
    public let batchSize: Int
    public let seed: UInt64
    /// Crops and flips of the training images each epoch; nil (the default): none.
    public let augmentation: ImageAugmentation?
    /// When test accuracy is measured (once an epoch by default).
    public let validation: ValidationSchedule

    public init(
        batchSize: Int, seed: UInt64, augmentation: ImageAugmentation? = nil, validation: ValidationSchedule = .everyEpoch
    ) throws(NGError) {
        try NGError.Operation.trainerInit.require(batchSize >= 1, "batchSize", "must be at least 1, got \(batchSize)")
        self.batchSize = batchSize
        self.seed = seed
        self.augmentation = augmentation
        self.validation = validation
    }

    /// Trains `model` for `epochs` epochs, or until a record meets `until` (a target reached);
    /// `progress(step, totalSteps)` is called after every step.
    public func train<O: LayerOptimizer>(
        _ model: Model<Float>, optimizer: inout O, name: String, train: Dataset, test: Dataset, epochs: Int,
        progress: (Int, Int) -> Void = { _, _ in }, until: (EpochRecord) -> Bool = { _ in false }
    ) throws -> [EpochRecord] where O.Scalar == Float {
        try run(
            model, name: name, train: train, test: test, epochs: epochs, rows: 0..<batchSize, progress: progress, until: until
        ) {
            x, labels in try model.trainStep(x, labels: labels, optimizer: &optimizer)
        }
    }

    /// Trains `model` with a synchronized optimizer (data-parallel): of every global batch of
    /// `batchSize` rows, drawn in the same order on every process, this process trains on
    /// `optimizer.localRows`. The records' losses are the whole batch's; the seconds this
    /// process's. Every process stops at the same epoch (`until` sees the same records).
    public func train<O: SynchronizedOptimizer>(
        _ model: Model<Float>, synchronizing optimizer: inout O, name: String, train: Dataset, test: Dataset,
        epochs: Int, progress: (Int, Int) -> Void = { _, _ in }, until: (EpochRecord) -> Bool = { _ in false }
    ) throws -> [EpochRecord] where O.Scalar == Float {
        try run(
            model, name: name, train: train, test: test, epochs: epochs, rows: optimizer.localRows, progress: progress,
            until: until
        ) { x, labels in try model.trainStep(x, labels: labels, synchronizing: &optimizer) }
    }

    /// The epochs' loop: shuffles, takes `rows` of every batch, times `trainStep` (which returns the
    /// batch's mean loss), evaluates where `validation` says.
    func run(
        _ model: Model<Float>, name: String, train: Dataset, test: Dataset, epochs: Int, rows: Range<Int>,
        progress: (Int, Int) -> Void, until: (EpochRecord) -> Bool,
        trainStep: (Matrix<Float>, ArraySlice<Int>) throws -> Double
    ) throws -> [EpochRecord] {
        try NGError.Operation.trainerTrain.require(epochs >= 1, "epochs", "must be at least 1, got \(epochs)")
        try NGError.Operation.trainerTrain.require(
            train.count >= batchSize, "batchSize", "\(batchSize) is larger than the \(train.count) training examples")
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<train.count)
        let steps = train.count / batchSize
        var tally = TrainingTally()
        var records: [EpochRecord] = []
        var augmented = Matrix<Float>(rows: 0, columns: 0)
        for epoch in 1...epochs {
            order.shuffle(using: &generator)
            for step in 0..<steps {
                let start = step * batchSize
                let indices = order[(start + rows.lowerBound)..<(start + rows.upperBound)]
                var x = model.gather(train.images, indices)
                if let augmentation {
                    augmentation.apply(
                        x, indices: indices, epoch: epoch, seed: seed, height: train.height, width: train.width,
                        into: &augmented)
                    x = augmented
                }
                let labels = indices.map { train.labels[$0] }
                try tally.time { try trainStep(x, labels[...]) }
                progress(tally.steps, epochs * steps)
                guard validation.validates(after: step + 1, of: steps) else { continue }
                records.append(EpochRecord(
                    optimizer: name, seed: seed, epoch: epoch, steps: tally.steps, trainLoss: tally.takeMeanLoss(),
                    testAccuracy: try Self.accuracy(model, on: test, batch: max(rows.count, 1)), seconds: tally.seconds))
                if until(records[records.count - 1]) { return records }
            }
        }
        return records
    }

    /// The fraction of `data` that `model` classifies correctly, in batches of `batchSize`.
    public func accuracy(_ model: Model<Float>, on data: Dataset) throws(NGError) -> Double {
        try Self.accuracy(model, on: data, batch: batchSize)
    }

    /// `accuracy` in batches of `batch` rows, the last padded to that size.
    static func accuracy(_ model: Model<Float>, on data: Dataset, batch: Int) throws(NGError) -> Double {
        var correct = 0
        var start = 0
        while start < data.count {
            let end = min(start + batch, data.count)
            let rows = ValidationSchedule.batch(start..<end, paddedTo: batch)
            let logits = try model.forward(model.gather(data.images, rows[...]))
            for i in 0..<(end - start) {
                var best = 0
                for j in 1..<logits.columns where logits[i, j] > logits[i, best] { best = j }
                if best == data.labels[start + i] { correct += 1 }
            }
            start = end
        }
        return Double(correct) / Double(data.count)
    }
}
