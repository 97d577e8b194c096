import Foundation
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// DLRM's layers against plain loops in Double and central finite differences; its click log
/// and metrics against hand-checked cases; the model learning a generated log.
@Suite struct RecommenderTests {
    /// Sum and mean bags, an id twice in one bag, a bag of one, a batch of one, a row never
    /// looked up: the rows and the table's gradient against plain loops and finite differences;
    /// bad ids refused with the table unchanged.
    @Test(arguments: [(BagReduction.sum, 3, 4), (.mean, 3, 4), (.sum, 1, 5), (.mean, 2, 1)])
    func embeddingBagMatchesPlainLoopsAndFiniteDifferences(reduction: BagReduction, bag: Int, rows: Int) throws {
        var generator = SeededGenerator(seed: 401)
        let layer = try EmbeddingBag<Double>(vocabulary: 6, width: 3, bag: bag, reduction: reduction, using: &generator)
        var ids = Matrix<Double>(rows: rows, columns: bag) { _, _ in Double(Int.random(in: 0..<5, using: &generator)) }
        if bag > 1 { ids[0, 1] = ids[0, 0] }
        let g = Matrix<Double>.random(rows: rows, columns: 3, using: &generator)
        let y = try layer.forward(ids)
        let scale = reduction == .mean ? 1 / Double(bag) : 1
        for r in 0..<rows {
            for c in 0..<3 {
                let expected = (0..<bag).reduce(0.0) { $0 + layer.weight[Int(ids[r, $1]), c] } * scale
                #expect(abs(y[r, c] - expected) < 1e-15)
            }
        }
        #expect(try layer.backward(g).isEmpty)
        let gradient = try handedGradient(layer)
        for c in 0..<3 { #expect(gradient[5, c] == 0) }   // row 5 is never looked up
        #expect(try parameterFiniteDifferenceError(layer, input: ids, upstream: g) < 1e-7)
        let table = layer.weight
        for bad in [Double.nan, 2.5, -1, 6] {
            var wrong = ids
            wrong[rows - 1, bag - 1] = bad
            #expect(throws: NGError.self) { try layer.forward(wrong) }
        }
        #expect(throws: NGError.self) { try layer.forward(Matrix(rows: rows, columns: bag + 1)) }
        #expect(layer.weight == table)
        #expect(throws: NGError.self) { try EmbeddingBag<Double>(vocabulary: 6, width: 3, bag: 0, using: &generator) }
    }

    /// Two dense features, width 3, tables of 4 and 5 rows with bags of 2 and 1: the output row
    /// `[b | e₁·b, e₂·b, e₂·e₁]` against plain loops, and every gradient — the bottom layer's
    /// weight, both tables — against central finite differences of `Σ g ⊙ output`.
    @Test(arguments: [1, 4])
    func featureInteractionMatchesPlainLoopsAndFiniteDifferences(rows: Int) throws {
        var generator = SeededGenerator(seed: 402)
        let bottom = try Dense<Double>(inputs: 2, outputs: 3, computesInputGradient: false, using: &generator)
        let bags = [
            try EmbeddingBag<Double>(vocabulary: 4, width: 3, bag: 2, using: &generator),
            try EmbeddingBag<Double>(vocabulary: 5, width: 3, bag: 1, using: &generator),
        ]
        let interaction = try FeatureInteraction<Double>(denseFeatures: 2, width: 3, bottom: [bottom], bags: bags)
        #expect(interaction.inputColumns == 5 && interaction.outputColumns == 6)
        let x = Matrix<Double>(rows: rows, columns: 5) { r, c in
            c < 2 ? Double.random(in: -1...1, using: &generator) : Double((r + c) % (c < 4 ? 4 : 5))
        }
        let g = Matrix<Double>.random(rows: rows, columns: 6, using: &generator)
        let z = try interaction.forward(x)
        for r in 0..<rows {
            let b = (0..<3).map { c in bottom.weight[c, 2] + (0..<2).reduce(0.0) { $0 + bottom.weight[c, $1] * x[r, $1] } }
            let e1 = (0..<3).map { c in bags[0].weight[Int(x[r, 2]), c] + bags[0].weight[Int(x[r, 3]), c] }
            let e2 = (0..<3).map { c in bags[1].weight[Int(x[r, 4]), c] }
            func dot(_ u: [Double], _ v: [Double]) -> Double { zip(u, v).reduce(0) { $0 + $1.0 * $1.1 } }
            let expected = b + [dot(e1, b), dot(e2, b), dot(e2, e1)]
            for c in 0..<6 { #expect(abs(z[r, c] - expected[c]) < 1e-14) }
        }
        #expect(try interaction.backward(g).isEmpty)
        let errors = try containedParameterErrors([bottom, bags[0], bags[1]], upstream: g) { try interaction.forward(x) }
        #expect(errors.allSatisfy { $0 < 1e-7 }, "\(errors)")
        #expect(throws: NGError.self) { try interaction.forward(Matrix(rows: rows, columns: 4)) }
        var outside = x
        outside[0, 4] = 5
        #expect(throws: NGError.self) { try interaction.forward(outside) }
        #expect(throws: NGError.self) {
            try FeatureInteraction<Double>(denseFeatures: 2, width: 4, bottom: [bottom], bags: bags)
        }
    }

    /// AUC by hand: scores 0.1, 0.4, 0.35, 0.8 for labels 0, 0, 1, 1 rank three of the four
    /// (click, no click) pairs right: 0.75; equal scores count one half; the log-loss of
    /// u = 0 is log 2.
    @Test func clickMetricsMatchHandCheckedCases() {
        #expect(ClickMetrics(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]).auc == 0.75)
        #expect(ClickMetrics(scores: [1, 1, 1, 1], labels: [0, 1, 0, 1]).auc == 0.5)
        #expect(ClickMetrics(scores: [3, -2], labels: [1, 0]).auc == 1)
        #expect(abs(ClickMetrics(scores: [0, 0], labels: [1, 0]).logLoss - log(2)) < 1e-15)
        let large = ClickMetrics(scores: [800, -800], labels: [0, 1])
        #expect(abs(large.logLoss - 800) < 1e-9 && large.auc == 0)
    }

    /// The generated log: the same for the same seed; Zipf ids (id 0 the most frequent, every
    /// id in its table); a click rate near 30%; a Bayes loss below the loss of the constant
    /// click rate, which is the entropy of that rate.
    @Test func clickLogIsSeededZipfAndLearnable() throws {
        let make = { () throws -> ClickLog in
            try ClickLog.generate(
                trainCount: 4000, testCount: 1000, denseFeatures: 3, vocabularies: [50, 80], bag: 2, width: 4, seed: 11)
        }
        let log = try make()
        #expect(try make().train.images == log.train.images && make().test.labels == log.test.labels)
        #expect(log.train.images.columns == 7)
        var counts = [Int](repeating: 0, count: 80)
        for r in 0..<log.train.count { counts[Int(log.train.images[r, 5])] += 1 }
        #expect(counts[0] == counts.max() && counts[0] > 4 * counts[9])
        #expect((0..<log.train.count).allSatisfy { log.train.images[$0, 3] < 50 && log.train.images[$0, 5] < 80 })
        #expect(log.clickRate > 0.2 && log.clickRate < 0.45)
        let rate = log.clickRate
        #expect(log.bayesLogLoss > 0 && log.bayesLogLoss < -(rate * Foundation.log(rate) + (1 - rate) * Foundation.log(1 - rate)))
    }

    /// A small DLRM learns a generated log: after four epochs of 8,000 rows its test log-loss is
    /// below the constant click rate's and its AUC above 0.6 (0.63–0.65 when written), with Adam and with NG+ (its dense layers
    /// preconditioned, its tables by their right-side GFIM).
    @Test(arguments: ["adam", "ngplus"])
    func smallDLRMLearnsAGeneratedLog(optimizer name: String) throws {
        let sizes = (dense: 3, vocabularies: [40, 60], bag: 2, width: 4)
        let log = try ClickLog.generate(
            trainCount: 8000, testCount: 2000, denseFeatures: sizes.dense, vocabularies: sizes.vocabularies,
            bag: sizes.bag, width: sizes.width, seed: 12)
        let model = try Model<Float>.dlrm(
            denseFeatures: sizes.dense, vocabularies: sizes.vocabularies, bag: sizes.bag, width: sizes.width,
            bottom: [16], top: [16], seed: 3)
        let trainer = try Trainer(batchSize: 50, seed: 4)
        if name == "adam" {
            var optimizer = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: 3e-3))
            try model.register(with: &optimizer)
            _ = try trainer.train(model, optimizer: &optimizer, name: name, train: log.train, test: log.test, epochs: 4)
        } else {
            var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                sgd: SGDSettings(learningRate: 0.05, momentum: 0.9), damping: 1e-2, batchSize: 50))
            try model.register(with: &optimizer)
            _ = try trainer.train(model, optimizer: &optimizer, name: name, train: log.train, test: log.test, epochs: 4)
        }
        let metrics = try ClickMetrics.evaluate(model, on: log.test)
        let rate = log.clickRate
        let constant = -(rate * Foundation.log(rate) + (1 - rate) * Foundation.log(1 - rate))
        #expect(metrics.logLoss < constant && metrics.auc > 0.6, "\(name): \(metrics), constant \(constant), Bayes \(log.bayesLogLoss)")
    }
}
