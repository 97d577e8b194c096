import Foundation
import NGPlus

/// Where the time of training steps goes, layer by layer: each layer's forward and backward
/// passes and its optimizer work (the statistics it hands over and its update), summed over
/// the steps a model makes while the account is attached (`Model.layerTimes`), beside the GEMM
/// flops the model's flop account gives the layer. Layers of the same kind and shape (the
/// blocks of a Transformer) share a row. Recording costs two clock reads a layer and phase,
/// allocates nothing, and happens only inside `Model.trainStep`: evaluation is not counted.
public final class LayerTimeAccount {
    /// The part of a step a time belongs to.
    public enum Phase: Int, Sendable {
        case forward, backward, optimizer
    }

    /// The layers of one kind and shape, and their summed time.
    public struct Row: Sendable {
        /// The flop account's name for the layer (`dense 128→384`) or its type (`GELU`).
        public let name: String
        /// How many of the model's layers the row sums.
        public internal(set) var layers: Int
        /// Their GEMM flops per sample, forward and backward (0 for elementwise layers).
        public internal(set) var forwardFlops: Double
        public internal(set) var backwardFlops: Double
        /// Their optimizer's own flops per step, beyond the model's (`Model.countOptimizerFlops`).
        public internal(set) var optimizerFlops = 0.0
        /// Seconds in each phase, summed over the steps.
        public internal(set) var forwardSeconds = 0.0
        public internal(set) var backwardSeconds = 0.0
        public internal(set) var optimizerSeconds = 0.0
    }

    /// The rows in the order of the model's layers; the last two are the loss (the softmax
    /// cross-entropy and its gradient, one pass) and the optimizer's `synchronize` (the
    /// collectives of a data-parallel step; nothing on one process).
    public private(set) var rows: [Row]
    /// Steps recorded, and their samples (rows of the batch) summed.
    public private(set) var steps = 0
    public private(set) var samples = 0
    /// Seconds of the recorded steps, whole: what no row holds (copies, releases) is the rest.
    public private(set) var stepSeconds = 0.0
    /// The seconds measured inside the measurement now running, so that a container's row (a
    /// residual block) holds only its own passes, not its layers' (which have rows of their own).
    var nestedSeconds = 0.0
    let rowOfLayer: [ObjectIdentifier: Int]
    let lossRow: Int
    let synchronizeRow: Int
    var recording = false
    var stepBegin: UInt64 = 0

    /// An empty account with a row per kind and shape of `layers` (each container, then what
    /// it holds).
    init<Scalar>(layers: [any NetworkLayer<Scalar>]) {
        var rows: [Row] = []
        var rowOfName: [String: Int] = [:]
        var rowOfLayer: [ObjectIdentifier: Int] = [:]
        for layer in layers {
            let flops = (layer as? any FlopCountedLayer<Scalar>)?.flops
            let name = flops?.name ?? String(String(describing: type(of: layer)).prefix { $0 != "<" })
            let row = rowOfName[name] ?? rows.count
            if row == rows.count {
                rows.append(Row(name: name, layers: 0, forwardFlops: 0, backwardFlops: 0))
                rowOfName[name] = row
            }
            rows[row].layers += 1
            rows[row].forwardFlops += flops?.forward ?? 0
            rows[row].backwardFlops += flops?.backward ?? 0
            rowOfLayer[ObjectIdentifier(layer)] = row
        }
        lossRow = rows.count
        synchronizeRow = rows.count + 1
        rows.append(Row(name: "loss", layers: 1, forwardFlops: 0, backwardFlops: 0))
        rows.append(Row(name: "synchronize", layers: 1, forwardFlops: 0, backwardFlops: 0))
        self.rows = rows
        self.rowOfLayer = rowOfLayer
    }

    /// What a measured time belongs to.
    enum Part {
        case layer(AnyObject)
        /// The loss (softmax cross-entropy or mean squared error), its gradient included.
        case loss
        /// The optimizer's `synchronize`.
        case synchronize
    }

    /// Adds `flops` a step to the optimizer flops of `layer`'s row.
    func addOptimizerFlops(_ flops: Double, of layer: AnyObject) {
        guard let row = rowOfLayer[ObjectIdentifier(layer)] else { return }
        rows[row].optimizerFlops += flops
    }

    /// `body`, its time added to `part`'s row in `phase` while a step is being recorded.
    @inline(__always)
    static func measure<Result, Failure: Error>(
        _ account: LayerTimeAccount?, _ part: Part, _ phase: Phase, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard let account, account.recording, let row = account.row(of: part) else { return try body() }
        return try account.measure(row: row, phase, body)
    }

    func row(of part: Part) -> Int? {
        switch part {
        case let .layer(layer): rowOfLayer[ObjectIdentifier(layer)]
        case .loss: lossRow
        case .synchronize: synchronizeRow
        }
    }

    func measure<Result, Failure: Error>(
        row: Int, _ phase: Phase, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let begin = DispatchTime.now().uptimeNanoseconds
        let enclosing = nestedSeconds
        nestedSeconds = 0
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
            let seconds = elapsed - nestedSeconds
            nestedSeconds = enclosing + elapsed
            switch phase {
            case .forward: rows[row].forwardSeconds += seconds
            case .backward: rows[row].backwardSeconds += seconds
            case .optimizer: rows[row].optimizerSeconds += seconds
            }
        }
        return try body()
    }

    func beginStep() {
        recording = true
        stepBegin = DispatchTime.now().uptimeNanoseconds
    }

    func endStep(samples: Int) {
        recording = false
        stepSeconds += Double(DispatchTime.now().uptimeNanoseconds - stepBegin) / 1e9
        steps += 1
        self.samples += samples
    }
}
