import Foundation
import NGPlus

/// A model's parameters on disk: every trainable layer's spec and weight in order, then every
/// `BatchNorm`'s running mean and variance — what evaluation reads — sealed as an optimizer's
/// state is (`StateFile`: magic, version, the kind `Model`, the scalar type, CRC-32) and written
/// atomically. An optimizer's state is saved apart, by the optimizer.
extension Model {
    /// The layers whose running statistics are saved, in order.
    var batchNorms: [BatchNorm<Scalar>] { Self.leaves(of: layers).compactMap { $0 as? BatchNorm<Scalar> } }

    /// The parameters and running statistics, sealed.
    public func parameterBytes() -> [UInt8] {
        var writer = StateWriter()
        writer.write(trainableLayers.count)
        for i in trainableLayers.indices {
            writer.write(specDescription(trainableLayers[i].spec))
            writer.write(trainableLayers[i].weight)
        }
        let norms = batchNorms
        writer.write(norms.count)
        for norm in norms {
            writer.write(norm.runningMean)
            writer.write(norm.runningVariance)
        }
        return StateFile.seal(payload: writer.bytes, optimizer: "Model", scalar: "\(Scalar.self)", settings: "")
    }

    /// Restores what `parameterBytes` wrote for a model of the same layers, all or nothing.
    /// - Throws: `corruptState` for bytes of another model or scalar type, damaged or truncated
    ///   bytes, a non-finite value or a running variance below 0; the model is then unchanged.
    public func restore(parameterBytes bytes: [UInt8]) throws(NGError) {
        var reader = try StateFile.open(
            bytes, optimizer: "Model", scalar: "\(Scalar.self)", settings: "", oldestVersion: StateFile.version,
            operation: .modelRestore)
        let count = try reader.readInt()
        guard count == trainableLayers.count else {
            throw reader.fail("\(count) trainable layers saved, the model has \(trainableLayers.count)")
        }
        var weights: [Matrix<Scalar>] = []
        for i in trainableLayers.indices {
            let (saved, expected) = (try reader.readString(), specDescription(trainableLayers[i].spec))
            guard saved == expected else { throw reader.fail("layer \(i) saved as \(saved), the model's is \(expected)") }
            weights.append(try read(&reader, shape: trainableLayers[i].weight.shape, "layer \(i)'s weight"))
        }
        let norms = batchNorms
        guard try reader.readInt() == norms.count else { throw reader.fail("another number of BatchNorm layers") }
        var statistics: [(mean: Matrix<Scalar>, variance: Matrix<Scalar>)] = []
        for (i, norm) in norms.enumerated() {
            let mean = try read(&reader, shape: norm.runningMean.shape, "BatchNorm \(i)'s running mean")
            let variance = try read(&reader, shape: norm.runningVariance.shape, "BatchNorm \(i)'s running variance")
            guard variance.elements.allSatisfy({ $0 >= 0 }) else { throw reader.fail("BatchNorm \(i) has a negative variance") }
            statistics.append((mean, variance))
        }
        guard reader.isAtEnd else { throw reader.fail("unexpected bytes after the last layer") }
        for i in trainableLayers.indices { trainableLayers[i].weight = weights[i] }
        for (norm, saved) in zip(norms, statistics) { norm.setRunningStatistics(mean: saved.mean, variance: saved.variance) }
    }

    /// A finite matrix of `shape`.
    private func read(_ reader: inout StateReader, shape: Shape, _ what: String) throws(NGError) -> Matrix<Scalar> {
        let matrix: Matrix<Scalar> = try reader.readMatrix(what: what)
        guard matrix.shape == shape else { throw reader.fail("\(what) has shape \(matrix.shape), expected \(shape)") }
        guard matrix.elements.allSatisfy({ $0.isFinite }) else { throw reader.fail("\(what) holds a non-finite value") }
        return matrix
    }

    /// Saves `parameterBytes()` to `url` atomically (a temporary file renamed over the target).
    /// - Throws: `OptimizerError.fileError` when `url` names a folder or cannot be written; the
    ///   file on disk is then as it was.
    public func save(to url: URL) throws(OptimizerError) {
        try AtomicFile.write(parameterBytes(), to: url, operation: .modelSave)
    }

    /// Loads parameters saved by `save(to:)`; on any error the model is unchanged.
    /// - Throws: `OptimizerError.fileError` when the file cannot be read, and what
    ///   `restore(parameterBytes:)` throws.
    public func load(from url: URL) throws {
        try restore(parameterBytes: AtomicFile.read(from: url, operation: .modelLoad))
    }
}
