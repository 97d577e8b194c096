import NGKernels
import NGPlus
import NGTrain

/// The optimizers a layer's training test runs a network with: NG+ (right-side GFIM, fused
/// apply), K-FAC and momentum SGD, each with a refresh every second step where it has one.
enum TestOptimizer: CaseIterable {
    case ngplus, kfac, sgd
}

/// The weights of every trainable layer of `model` after five steps of `optimizer` on the
/// batch `x` (of 8 rows) and `labels`.
func weightsAfterFiveSteps(
    _ model: Model<Double>, _ optimizer: TestOptimizer, x: Matrix<Double>, labels: ArraySlice<Int>
) throws -> [Matrix<Double>] {
    func train<O: LayerOptimizer>(_ optimizer: O) throws where O.Scalar == Double {
        var optimizer = optimizer
        try model.register(with: &optimizer)
        for _ in 0..<5 { _ = try model.trainStep(x, labels: labels, optimizer: &optimizer) }
    }
    switch optimizer {
    case .ngplus:
        try train(NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(
            inverseInterval: 2, side: .right, batchSize: 8, fusedApply: true)))
    case .kfac:
        try train(KFACOptimizer<Double>(configuration: KFACConfiguration(inverseInterval: 2, batchSize: 8)))
    case .sgd:
        try train(SGDOptimizer<Double>(settings: SGDSettings(learningRate: 0.1, momentum: 0.9)))
    }
    return model.trainableLayers.map { $0.weight }
}
