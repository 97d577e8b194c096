import NGPlus

/// One validation of a molecular model's training (once an epoch unless the trainer's schedule
/// says more), as `ngbench train --model schnet` prints it.
public struct MoleculeRecord: Sendable, Equatable {
    public let optimizer: String
    public let seed: UInt64
    /// The epoch the validation was made in (after its last step when once an epoch).
    public let epoch: Int
    /// Training steps before the validation, over all epochs.
    public let steps: Int
    /// Mean squared error of the standardized energy per atom over the batches since the
    /// previous record.
    public let trainLoss: Double
    /// Mean absolute error of the energy per atom on the test molecules, in units of ε_AA.
    public let testMAE: Double
    /// Cumulative training seconds (forward, backward, optimizer steps; no evaluation).
    public let seconds: Double
}

/// Trains `Model.schnet` on a `MoleculeSet`: each step a batch of `molecules` molecules in a
/// seeded shuffle (full batches only), fitting each molecule's energy per atom standardized by
/// the training set's mean and deviation; the test molecules' mean absolute error after every
/// epoch (or as often as `validation` says).
public struct MoleculeTrainer {
    public let molecules: Int
    public let seed: UInt64
    /// When the test error is measured (once an epoch by default).
    public let validation: ValidationSchedule

    /// - Throws: `invalidArgument` for fewer than one molecule a batch.
    public init(molecules: Int, seed: UInt64, validation: ValidationSchedule = .everyEpoch) throws(NGError) {
        try NGError.Operation.moleculeTrainerInit.require(
            molecules >= 1, "molecules", "must be at least 1, got \(molecules)")
        self.molecules = molecules
        self.seed = seed
        self.validation = validation
    }

    /// The mean and deviation of the energy per atom of `data`.
    public static func scale(of data: MoleculeSet) -> (mean: Double, deviation: Double) {
        let perAtom = data.energies.map { $0 / Double(data.atoms) }
        let mean = perAtom.reduce(0, +) / Double(max(perAtom.count, 1))
        let variance = perAtom.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(perAtom.count, 1))
        return (mean, max(variance.squareRoot(), 1e-12))
    }

    /// Trains for `epochs` epochs, or until a record meets `until`; `progress(step, totalSteps)`
    /// after every step.
    /// - Throws: `invalidArgument` for no epoch or fewer training molecules than a batch, and what a step throws.
    public func train<O: LayerOptimizer>(
        _ model: Model<Float>, optimizer: inout O, name: String, train: MoleculeSet, test: MoleculeSet, epochs: Int,
        progress: (Int, Int) -> Void = { _, _ in }, until: (MoleculeRecord) -> Bool = { _ in false }
    ) throws -> [MoleculeRecord] where O.Scalar == Float {
        try run(
            model, name: name, train: train, test: test, epochs: epochs, local: 0..<molecules, progress: progress,
            until: until
        ) { x, targets in try model.trainStep(x, targets: targets, optimizer: &optimizer) }
    }

    /// Trains with a synchronized optimizer (data-parallel, `rowsPerSample` = the molecules'
    /// atoms): every process draws the same batches and trains on its share of each
    /// (`optimizer.localRows`, whole molecules). The losses are the whole batch's, the seconds
    /// this process's; every process stops at the same epoch.
    /// - Throws: `invalidArgument` when the optimizer's rows are not whole molecules of a batch,
    ///   and what `train(_:optimizer:…)` throws.
    public func train<O: SynchronizedOptimizer>(
        _ model: Model<Float>, synchronizing optimizer: inout O, name: String, train: MoleculeSet, test: MoleculeSet,
        epochs: Int, progress: (Int, Int) -> Void = { _, _ in }, until: (MoleculeRecord) -> Bool = { _ in false }
    ) throws -> [MoleculeRecord] where O.Scalar == Float {
        let local = try optimizer.localSamples(
            rowsPerSample: train.atoms, batch: molecules, what: "molecules of \(train.atoms) atoms", .moleculeTrainerTrain)
        return try run(model, name: name, train: train, test: test, epochs: epochs, local: local, progress: progress, until: until) {
            x, targets in try model.trainStep(x, targets: targets, synchronizing: &optimizer)
        }
    }

    /// The epochs' loop: every step a batch of `molecules` in a seeded shuffle (the same on every
    /// process), molecules `local` of it trained on by `trainStep` (which returns the batch's
    /// mean loss); the test error where `validation` says.
    func run(
        _ model: Model<Float>, name: String, train: MoleculeSet, test: MoleculeSet, epochs: Int, local: Range<Int>,
        progress: (Int, Int) -> Void, until: (MoleculeRecord) -> Bool,
        trainStep: (Matrix<Float>, Matrix<Float>) throws -> Double
    ) throws -> [MoleculeRecord] {
        try NGError.Operation.moleculeTrainerTrain.require(
            epochs >= 1 && train.count >= molecules, "epochs, train",
            "needs an epoch and a batch of \(molecules) molecules, got \(epochs) and \(train.count)")
        let scale = Self.scale(of: train)
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<train.count)
        let steps = train.count / molecules
        var (tally, records) = (TrainingTally(), [MoleculeRecord]())
        for epoch in 1...epochs {
            order.shuffle(using: &generator)
            for step in 0..<steps {
                let batch = order[(step * molecules + local.lowerBound)..<(step * molecules + local.upperBound)]
                let x = model.gather(train.atomRows, Self.atomRows(of: batch, atoms: train.atoms)[...])
                let targets = Matrix<Float>(rows: batch.count, columns: 1) { i, _ in
                    Float((train.energies[batch[batch.startIndex + i]] / Double(train.atoms) - scale.mean) / scale.deviation)
                }
                try tally.time { try trainStep(x, targets) }
                progress(tally.steps, epochs * steps)
                guard validation.validates(after: step + 1, of: steps) else { continue }
                records.append(MoleculeRecord(
                    optimizer: name, seed: seed, epoch: epoch, steps: tally.steps, trainLoss: tally.takeMeanLoss(),
                    testMAE: try Self.meanAbsoluteError(model, on: test, scale: scale, batch: max(local.count, 1)),
                    seconds: tally.seconds))
                if until(records[records.count - 1]) { return records }
            }
        }
        return records
    }

    /// The mean absolute error of the energy per atom of `model` on `data`, in the data's units,
    /// in batches of `batch` molecules (the last padded to that size, as `Trainer.accuracy` does).
    public static func meanAbsoluteError(
        _ model: Model<Float>, on data: MoleculeSet, scale: (mean: Double, deviation: Double), batch: Int = 64
    ) throws(NGError) -> Double {
        var total = 0.0
        var start = 0
        while start < data.count {
            let end = min(start + batch, data.count)
            let molecules = ValidationSchedule.batch(start..<end, paddedTo: batch)
            let prediction = try model.forward(model.gather(data.atomRows, atomRows(of: molecules, atoms: data.atoms)[...]))
            for m in start..<end {
                let perAtom = scale.mean + scale.deviation * Double(prediction[m - start, 0])
                total += abs(perAtom - data.energies[m] / Double(data.atoms))
            }
            start = end
        }
        return total / Double(data.count)
    }

    /// The atom rows of molecules `indices`, in order.
    static func atomRows<C: Collection>(of indices: C, atoms: Int) -> [Int] where C.Element == Int {
        indices.flatMap { m in (m * atoms)..<((m + 1) * atoms) }
    }
}
