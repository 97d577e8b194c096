import NGPlus
import NGTrain
import Testing

@Suite struct TrainingTests {
    /// The first 2,560 training images of Fashion-MNIST (installed by scripts/bootstrap).
    static let slice: (train: Dataset, test: Dataset) = {
        let (train, test) = try! FashionMNIST.load()
        return (train.prefix(2560), test.prefix(500))
    }()

    /// 200 steps of batch 32 on the slice; the mean loss of the last 20 steps over the first 20.
    func lossRatio<O: LayerOptimizer>(_ optimizer: inout O, model: Model<Float>) throws -> Double where O.Scalar == Float {
        try model.register(with: &optimizer)
        var losses: [Double] = []
        var order = Array(0..<Self.slice.train.count)
        var generator = SeededGenerator(seed: 3)
        while losses.count < 200 {
            order.shuffle(using: &generator)
            for start in stride(from: 0, to: order.count - 31, by: 32) where losses.count < 200 {
                let batch = order[start..<(start + 32)]
                let x = Matrix<Float>(rows: 32, columns: 784) { i, j in Self.slice.train.images[batch[batch.startIndex + i], j] }
                losses.append(try model.trainStep(x, labels: batch.map { Self.slice.train.labels[$0] }[...], optimizer: &optimizer))
            }
        }
        let first = losses.prefix(20).reduce(0, +) / 20
        let last = losses.suffix(20).reduce(0, +) / 20
        return last / first
    }

    @Test(arguments: ["sgd", "adam", "ngplus", "kfac"])
    func twoHundredStepsOfTheMLPHalveTheLoss(optimizer: String) throws {
        let model = try Model<Float>.mlp(seed: 11)
        let sgd = SGDSettings(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)
        let ratio: Double
        switch optimizer {
        case "sgd":
            var o = try SGDOptimizer<Float>(settings: sgd)
            ratio = try lossRatio(&o, model: model)
        case "adam":
            var o = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: 1e-3))
            ratio = try lossRatio(&o, model: model)
        case "ngplus":
            var o = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                sgd: sgd, damping: 1, inverseInterval: 10, batchSize: 32, fusedApply: true))
            ratio = try lossRatio(&o, model: model)
        default:
            var o = try KFACOptimizer<Float>(configuration: KFACConfiguration(
                sgd: SGDSettings(learningRate: 0.02, momentum: 0.9, weightDecay: 1e-4), damping: 0.1, batchSize: 32))
            ratio = try lossRatio(&o, model: model)
        }
        #expect(ratio < 0.5, "\(optimizer): the loss fell only to \(ratio) of its start")
    }

    @Test func aShortCNNRunLearnsAndTheTrainerReportsEveryEpoch() throws {
        let model = try Model<Float>.cnn(seed: 5)
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            sgd: SGDSettings(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4), damping: 0.1, inverseInterval: 10, batchSize: 64))
        try model.register(with: &optimizer)
        let trainer = try Trainer(batchSize: 64, seed: 5)
        let records = try trainer.train(
            model, optimizer: &optimizer, name: "ngplus", train: Self.slice.train.prefix(1280), test: Self.slice.test, epochs: 2)
        #expect(records.map(\.epoch) == [1, 2])
        #expect(records[1].trainLoss < records[0].trainLoss)
        #expect(records[1].testAccuracy > 0.5, "accuracy \(records[1].testAccuracy)")
        #expect(records[1].seconds > records[0].seconds)
    }

    /// `until` ends the run after the first epoch whose record meets it (a race's target); the
    /// records are those of a run of that many epochs.
    @Test func aRunStopsAtTheFirstEpochThatMeetsItsCondition() throws {
        func run(epochs: Int, until: @escaping (EpochRecord) -> Bool) throws -> [EpochRecord] {
            let model = try Model<Float>.mlp(seed: 4)
            var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.05, momentum: 0.9))
            try model.register(with: &sgd)
            return try Trainer(batchSize: 128, seed: 4).train(
                model, optimizer: &sgd, name: "sgd", train: Self.slice.train.prefix(512), test: Self.slice.test,
                epochs: epochs, until: until)
        }
        let stopped = try run(epochs: 5) { $0.epoch == 2 }
        #expect(stopped.map(\.epoch) == [1, 2])
        let full = try run(epochs: 2) { _ in false }
        #expect(stopped.map(\.testAccuracy) == full.map(\.testAccuracy))
        #expect(stopped.map(\.trainLoss) == full.map(\.trainLoss))
        #expect(try run(epochs: 3) { _ in true }.count == 1)
    }

    /// Validating three times an epoch trains the same weights (a validation does not touch
    /// them): each epoch's last record is the once-an-epoch run's, the others come after the
    /// steps the schedule names, and `until` stops at the first record that meets it.
    @Test func validatingMoreOftenChangesOnlyHowOftenTheRunIsMeasured() throws {
        func run(_ validation: ValidationSchedule, until: @escaping (EpochRecord) -> Bool = { _ in false }) throws -> [EpochRecord] {
            let model = try Model<Float>.mlp(seed: 4)
            var sgd = try SGDOptimizer<Float>(settings: SGDSettings(learningRate: 0.05, momentum: 0.9))
            try model.register(with: &sgd)
            return try Trainer(batchSize: 128, seed: 4, validation: validation).train(
                model, optimizer: &sgd, name: "sgd", train: Self.slice.train.prefix(896), test: Self.slice.test, epochs: 2,
                until: until)
        }
        let once = try run(.everyEpoch)
        let thrice = try run(try ValidationSchedule(perEpoch: 3))
        #expect(once.map(\.steps) == [7, 14])
        #expect(thrice.map(\.steps) == [3, 5, 7, 10, 12, 14])
        #expect(thrice.map(\.epoch) == [1, 1, 1, 2, 2, 2])
        #expect([thrice[2].testAccuracy, thrice[5].testAccuracy] == once.map(\.testAccuracy))
        #expect(thrice.map(\.seconds) == thrice.map(\.seconds).sorted())
        // The loss of each record is the mean of its own steps: their weighted mean is the epoch's.
        let epochLoss = (3 * thrice[0].trainLoss + 2 * thrice[1].trainLoss + 2 * thrice[2].trainLoss) / 7
        #expect(abs(epochLoss - once[0].trainLoss) <= 1e-12 * abs(once[0].trainLoss))
        let stopped = try run(try ValidationSchedule(perEpoch: 3)) { $0.steps == 10 }
        #expect(stopped.map(\.steps) == [3, 5, 7, 10])
        #expect(stopped.map(\.testAccuracy) == thrice.prefix(4).map(\.testAccuracy))
    }

    @Test func trainerArgumentsAreValidated() throws {
        #expect(throws: NGError.self) { try Trainer(batchSize: 0, seed: 1) }
        let model = try Model<Float>.mlp(seed: 1)
        var sgd = try SGDOptimizer<Float>(settings: SGDSettings())
        try model.register(with: &sgd)
        let trainer = try Trainer(batchSize: 128, seed: 1)
        #expect(throws: NGError.self) {
            try trainer.train(model, optimizer: &sgd, name: "sgd", train: Self.slice.train.prefix(100), test: Self.slice.test, epochs: 1)
        }
        #expect(throws: NGError.self) {
            try trainer.train(model, optimizer: &sgd, name: "sgd", train: Self.slice.train, test: Self.slice.test, epochs: 0)
        }
    }
}
