import Foundation
import NGDistributed
import NGPlus

/// One row of `ngbench step --distributed`: one optimizer on one process, milliseconds per step
/// split into compute, communication and the refreshes this process made for the others, and
/// the values it sent a step.
struct DistributedStepFigure {
    let optimizer: String
    let rank: Int
    /// Forward and backward GEMMs on this process's rows, the observation and the gradient.
    let computeMs: Double
    /// Inside MPI collectives (waiting for the slowest process included).
    let communicationMs: Double
    /// Making the refreshes this process owns (every k-th step, amortized).
    let refreshMs: Double
    /// The update from the synchronized gradient (with the refreshes every process makes itself:
    /// Woodbury, and all of them on one process).
    let updateMs: Double
    /// Values contributed to the all-reduce, this process's gathered rows and its broadcasts,
    /// per step, in bytes (4 a Float).
    let bytesPerStep: Double

    var totalMs: Double { computeMs + communicationMs + refreshMs + updateMs }

    static let fieldCount = 5
}

/// `ngbench step --distributed`: one dense layer trained data-parallel by every process of the
/// mpirun, the global batch split as `DataParallel` splits it; each optimizer runs `k` warm-up
/// steps, then `cycles·k` timed ones. Rank 0 collects every process's figures (one all-reduce)
/// and prints them.
struct DistributedStepBenchmark {
    let m: Int
    let n: Int
    let batch: Int
    let k: Int
    let cycles: Int
    let communicator: Communicator

    func run() throws -> [DistributedStepFigure] {
        let sgd = SGDSettings(learningRate: 1e-3, momentum: 0.9, weightDecay: 1e-4)
        let names = ["sgd", "adam", "kfac", "ngplus"]
        var local: [[Double]] = []
        local.append(try measure { try SGDOptimizer<Float>(settings: sgd) })
        local.append(try measure { try AdamOptimizer<Float>(settings: AdamSettings()) })
        local.append(try measure {
            try KFACOptimizer<Float>(configuration: KFACConfiguration(sgd: sgd, inverseInterval: k, batchSize: batch))
        })
        local.append(try measure {
            try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(sgd: sgd, inverseInterval: k, batchSize: batch))
        })
        // Every process's figures to every process: each fills its own rows of a zero table.
        let (size, rank, fields) = (communicator.size, communicator.rank, DistributedStepFigure.fieldCount)
        var table = [Double](repeating: 0, count: size * names.count * fields)
        for (o, figures) in local.enumerated() {
            for (f, value) in figures.enumerated() { table[(rank * names.count + o) * fields + f] = value }
        }
        try communicator.allReduceSum(&table)
        return (0..<size).flatMap { r in
            names.indices.map { o in
                let v = { (f: Int) in table[(r * names.count + o) * fields + f] }
                return DistributedStepFigure(
                    optimizer: names[o], rank: r, computeMs: v(0), communicationMs: v(1), refreshMs: v(2),
                    updateMs: v(3), bytesPerStep: v(4))
            }
        }
    }

    /// Milliseconds per step of one optimizer on this process: compute, communication, owned
    /// refreshes, update; and bytes per step.
    func measure<O: StatisticsSharing>(_ make: () throws -> O) throws -> [Double] where O.Scalar == Float {
        var parallel = try DataParallel(try make(), communicator: communicator, globalBatch: batch)
        let layer = try parallel.register(.dense(outputs: m, inputs: n, bias: true))
        var generator = SeededGenerator(seed: 5 + UInt64(communicator.rank))
        let rows = parallel.localRows.count
        let workspace = StepWorkspace(
            x: Matrix<Float>.random(rows: rows, columns: n, using: &generator),
            dy: Matrix<Float>.random(rows: rows, columns: m, scale: 1e-2, using: &generator),
            start: Matrix<Float>.random(rows: m, columns: n + 1, scale: 0.05, using: &generator), outputs: m, inputs: n)
        var weight = workspace.start
        var compute = 0.0
        var update = 0.0
        func step() throws {
            let started = DispatchTime.now().uptimeNanoseconds
            workspace.forwardAndBackward(weight)
            try parallel.observe(layer, inputs: workspace.x, outputGradients: workspace.dy)
            try parallel.submit(layer, inputs: workspace.x, outputGradients: workspace.dy)
            compute += seconds(since: started)
            _ = try parallel.synchronize(loss: 0)
            let stepping = DispatchTime.now().uptimeNanoseconds
            try parallel.step(layer, weight: &weight)
            update += seconds(since: stepping)
        }
        for _ in 0..<k { try step() }
        (compute, update) = (0, 0)
        let before = parallel.telemetry
        let steps = cycles * k
        for _ in 0..<steps { try step() }
        let after = parallel.telemetry
        let perStep = { (seconds: Double) in 1000 * seconds / Double(steps) }
        let values = (after.allReduceValues - before.allReduceValues) + (after.gatherValues - before.gatherValues)
            + (after.broadcastValues - before.broadcastValues)
        return [
            perStep(compute), perStep(after.communicationSeconds - before.communicationSeconds),
            perStep(after.refreshSeconds - before.refreshSeconds), perStep(update),
            Double(values * MemoryLayout<Float>.size) / Double(steps),
        ]
    }
}

/// Seconds since `start` (`DispatchTime` nanoseconds).
func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
