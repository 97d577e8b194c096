import Foundation
import NGPlus
import NGTestSupport
import Testing

/// A small NG+ optimizer with a dense, a conv, a matrix, a vector and an embedding layer, fresh or after
/// three steps: the subject of the error and state tests.
protocol TrainedOptimizerFixture {}

extension TrainedOptimizerFixture {
    /// A small optimizer with a dense, a conv, a matrix, a vector and an embedding layer after three steps.
    func trainedOptimizer() throws -> (NGPlusOptimizer<Float>, [LayerHandle], [Matrix<Float>]) {
        var (optimizer, handles, specs) = try freshOptimizer()
        var generator = SeededGenerator(seed: 81)
        var weights = specs.map { Matrix<Float>.random(rows: $0.parameterShape.rows, columns: $0.parameterShape.columns, using: &generator) }
        for _ in 0..<3 {
            try step(&optimizer, handles, specs, &weights, &generator)
        }
        return (optimizer, handles, weights)
    }

    func step(
        _ optimizer: inout NGPlusOptimizer<Float>, _ handles: [LayerHandle], _ specs: [LayerSpec],
        _ weights: inout [Matrix<Float>], _ generator: inout SeededGenerator
    ) throws {
        for (i, spec) in specs.enumerated() {
            let shape = spec.parameterShape
            switch spec {
            case let .dense(outputs, inputs, _):
                let x = Matrix<Float>.random(rows: 4, columns: inputs, using: &generator)
                let dy = Matrix<Float>.random(rows: 4, columns: outputs, scale: 0.1, using: &generator)
                try optimizer.observe(handles[i], inputs: x, outputGradients: dy)
                try optimizer.step(handles[i], weight: &weights[i], inputs: x, outputGradients: dy)
            case let .conv2d(geometry, outChannels, _):
                let x = Matrix<Float>.random(rows: 4, columns: geometry.inputLength, using: &generator)
                let dy = Matrix<Float>.random(rows: 4, columns: outChannels * geometry.positions, scale: 0.1, using: &generator)
                try optimizer.observe(handles[i], inputs: x, outputGradients: dy)
                try optimizer.step(handles[i], weight: &weights[i],
                                   gradient: Matrix.random(rows: shape.rows, columns: shape.columns, using: &generator))
            case .matrix, .vector:
                try optimizer.step(handles[i], weight: &weights[i],
                                   gradient: Matrix.random(rows: shape.rows, columns: shape.columns, using: &generator))
            case let .embedding(vocabulary, width):
                let lookups = (0..<5).map { _ in Int.random(in: 0..<vocabulary, using: &generator) }
                let dy = Matrix<Float>.random(rows: 5, columns: width, scale: 0.1, using: &generator)
                try optimizer.step(handles[i], table: &weights[i], lookups: lookups, outputGradients: dy)
            }
        }
    }


    func specsOfTrainedOptimizer() throws -> [LayerSpec] {
        let geometry = try ConvGeometry(inChannels: 2, height: 5, width: 5, kernelHeight: 3, kernelWidth: 3, padding: 1)
        return [.dense(outputs: 3, inputs: 6, bias: true), .conv2d(geometry: geometry, outChannels: 4, bias: true),
                .matrix(rows: 5, columns: 3), .vector(length: 7), .embedding(vocabulary: 8, width: 3)]
    }

    func freshOptimizer() throws -> (NGPlusOptimizer<Float>, [LayerHandle], [LayerSpec]) {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: 2, runningAverage: 0.5, batchSize: 4))
        let specs = try specsOfTrainedOptimizer()
        let handles = try specs.map { spec throws(NGError) in try optimizer.register(spec) }
        return (optimizer, handles, specs)
    }
}
