import ArgumentParser
import Foundation
import NGDistributed
import NGPlus
import NGTrain

/// `ngbench train --model schnet`: `Model.schnet` (width 64, 3 interaction blocks, 25 radial
/// basis functions up to 2.5 σ) on generated Lennard-Jones clusters of 13 atoms
/// (`LennardJonesClusters`: 20 minima train, 4 others test, 250 displaced samples each), every
/// optimizer from the same initial weights and the same batches of `--molecules` molecules, at
/// its `ngbench train` defaults (no grid has been run on SchNet). Under `mpirun`, data-parallel:
/// each process trains on its whole molecules of every batch.
extension Train {
    func runSchNet() throws {
        if molecules < 1 { throw ValidationError("--molecules must be at least 1, got \(molecules)") }
        let (communicator, printing) = try startProcesses()
        let (train, test) = try LennardJonesClusters.generate(atoms: 13, seed: 2026)
        var records: [MoleculeRecord] = []
        var layerTimes: [(optimizer: String, account: LayerTimeAccount)] = []
        for runSeed in seed..<(seed + UInt64(seeds)) {
            for name in compare ? OptimizerName.allCases : [optimizer] {
                guard let run = try Self.unlessDiverged(settings.recordName(name), seed: runSeed, printing: printing, {
                    try SchNetRun(
                        optimizer: name, settings: settings, molecules: molecules, seed: runSeed, communicator: communicator
                    ).run(train: train, test: test, epochs: epochs, progress: printing ? nil : { _, _ in })
                }) else { continue }
                records += run.records
                if runSeed == seed { layerTimes.append((settings.recordName(name), run.layerTimes)) }
            }
        }
        let rate = try FlopBound.measureSGEMM(summedOver: communicator) / Double(communicator?.size ?? 1)
        defer { communicator?.finalize() }
        guard printing else { return }
        if let communicator {
            print("data-parallel: \(communicator.size) process\(communicator.size == 1 ? "" : "es"), "
                + "\(OpenBLAS.threadCount) OpenBLAS thread(s) each, \(molecules) molecules a batch split by whole molecules")
        }
        let scale = MoleculeTrainer.scale(of: train)
        let meanError = test.energies.reduce(0.0) { $0 + abs($1 / 13 - scale.mean) } / Double(test.count)
        SchNetRun.printRecords(
            records, meanError: meanError, target: target ?? ModelName.schnet.defaultTarget, train: train, test: test)
        // One process's rows against one process's rate: the account is this process's.
        for (name, account) in layerTimes { LayerTimeReport.print(account, optimizer: name, sgemmGflops: rate) }
        if let csv { try SchNetRun.writeCSV(records, to: csv) }
        if let plot { try SchNetRun.writeSVG(records.filter { $0.seed == seed }, to: plot) }
    }
}

/// One optimizer on SchNet: builds both from the settings and trains.
struct SchNetRun {
    let optimizer: OptimizerName
    let settings: TrainingSettings
    let molecules: Int
    let seed: UInt64
    /// The processes of a data-parallel run (nil: one process).
    var communicator: Communicator?
    /// When the test error is measured (the race's: more than once an epoch).
    var validation = ValidationSchedule.everyEpoch

    func run(
        train: MoleculeSet, test: MoleculeSet, epochs: Int, progress: ((Int, Int) -> Void)? = nil,
        until: @escaping (MoleculeRecord) -> Bool = { _ in false }
    ) throws -> (records: [MoleculeRecord], layerTimes: LayerTimeAccount) {
        let model = try Model<Float>.schnet(atoms: train.atoms, seed: seed)
        let layerTimes = model.recordLayerTimes()
        let defaults = TrainingSettings.defaults(optimizer)
        let lr = settings.learningRate ?? defaults.learningRate
        let schedule = settings.learningRatePolicy.schedule(lr, steps: epochs * (train.count / molecules))
        let choice = OptimizerChoice(
            name: optimizer, settings: settings, schedule: schedule, damping: settings.damping ?? defaults.damping,
            inverseInterval: settings.inverseInterval ?? defaults.inverseInterval, side: settings.side ?? defaults.side,
            adam: AdamSettings(learningRate: schedule), batchRows: molecules * train.atoms)
        let records = try choice.build(for: MoleculeFit(
            model: model, trainer: try MoleculeTrainer(molecules: molecules, seed: seed, validation: validation),
            name: settings.recordName(optimizer), train: train, test: test, epochs: epochs, communicator: communicator,
            progress: progress ?? ProgressBar(label: "schnet \(settings.recordName(optimizer))").update, until: until))
        return (records, layerTimes)
    }

    /// Every epoch, then per optimizer the median [range] over seeds of the time to `target`
    /// (the first epoch whose test error is at most it), the best and the final test error.
    static func printRecords(
        _ records: [MoleculeRecord], meanError: Double, target: Double, train: MoleculeSet, test: MoleculeSet
    ) {
        Report.printTable(
            header: ["optimizer", "seed", "epoch", "train loss", "test MAE (ε/atom)", "seconds"],
            rows: records.map { r in
                [r.optimizer, "\(r.seed)", "\(r.epoch)", Report.format(r.trainLoss, 4), Report.format(r.testMAE, 4),
                 Report.format(r.seconds, 1)]
            })
        print()
        print("\(train.count) training and \(test.count) test clusters of \(train.atoms) atoms; predicting the "
              + "training mean errs by \(Report.format(meanError, 4)) ε an atom on the test clusters")
        let names = records.reduce(into: [String]()) { if !$0.contains($1.optimizer) { $0.append($1.optimizer) } }
        print("summary over seeds (target: test MAE ≤ \(Report.format(target, 3)) ε an atom): median [min–max]")
        Report.printTable(
            header: ["optimizer", "reached", "first epoch ≤ target", "seconds to target", "best test MAE", "final test MAE", "seconds"],
            rows: names.map { name in
                let runs = Dictionary(grouping: records.filter { $0.optimizer == name }, by: \.seed).values
                    .map { $0.sorted { $0.epoch < $1.epoch } }
                let reached = runs.compactMap { run in run.first { $0.testMAE <= target } }
                return [name, "\(reached.count) of \(runs.count)", TrainingReport.spread(reached.map { Double($0.epoch) }, 0),
                        TrainingReport.spread(reached.map(\.seconds), 1),
                        TrainingReport.spread(runs.map { $0.map(\.testMAE).min()! }, 4),
                        TrainingReport.spread(runs.map { $0.last!.testMAE }, 4), TrainingReport.spread(runs.map { $0.last!.seconds }, 1)]
            })
    }

    /// The test error per atom against seconds and epochs, one line an optimizer.
    static func writeSVG(_ records: [MoleculeRecord], to path: String) throws {
        try TrainingReport.writeChart(
            records.map { ChartPoint(series: $0.optimizer, seconds: $0.seconds, epoch: $0.epoch, value: $0.testMAE) },
            label: "test MAE, ε an atom (lower is better)", format: { Report.format($0, 3) }, to: path)
    }

    /// Every epoch of every run as CSV.
    static func writeCSV(_ records: [MoleculeRecord], to path: String) throws {
        var lines = ["optimizer,seed,epoch,train_loss,test_mae_per_atom,seconds"]
        for r in records { lines.append("\(r.optimizer),\(r.seed),\(r.epoch),\(r.trainLoss),\(r.testMAE),\(r.seconds)") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Registers SchNet with the optimizer it is handed (wrapped in `DataParallel` on several
/// processes, which split every batch by whole molecules) and trains it.
struct MoleculeFit: OptimizerUser {
    let model: Model<Float>
    let trainer: MoleculeTrainer
    let name: String
    let train: MoleculeSet
    let test: MoleculeSet
    let epochs: Int
    let communicator: Communicator?
    let progress: (Int, Int) -> Void
    /// Stops after the first epoch whose record meets it (a race's target).
    var until: (MoleculeRecord) -> Bool = { _ in false }

    func train<O: StatisticsSharing>(with optimizer: O) throws -> [MoleculeRecord] where O.Scalar == Float {
        if let communicator {
            var parallel = try DataParallel(
                optimizer, communicator: communicator, globalBatch: trainer.molecules * train.atoms,
                rowsPerSample: train.atoms)
            try model.register(with: &parallel)
            try model.countOptimizerFlops(of: parallel.base)
            return try trainer.train(
                model, synchronizing: &parallel, name: name, train: train, test: test, epochs: epochs,
                progress: progress, until: until)
        }
        var o = optimizer
        try model.register(with: &o)
        try model.countOptimizerFlops(of: o)
        return try trainer.train(
            model, optimizer: &o, name: name, train: train, test: test, epochs: epochs, progress: progress, until: until)
    }
}
