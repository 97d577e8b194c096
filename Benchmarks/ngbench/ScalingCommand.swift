import ArgumentParser
import Foundation
import NGDistributed
import NGKernels
import NGPlus

/// `ngbench scaling`, run under `mpirun -np P`: the scaling model of data-parallel SGD and NG+
/// (`LayerStepModel`) for every suite layer, checked against this run's measured step on P
/// processes (compute from one process's sgemm rate measured here; communication from this
/// transport's latency and bandwidth, calibrated with all-reduces of 1 and 2²⁰ values), then
/// predicted at 8, 64 and 512 processes on a network of the given latency and bandwidth.
struct Scaling: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Data-parallel scaling model of SGD and NG+, checked against this mpirun, predicted at 8/64/512 processes.")

    @Option(help: "Rows of every batch per process (weak scaling: the global batch is this times the processes).")
    var batch = 128
    @Option(help: "Inverse interval k.") var k = 10
    @Option(help: "Network latency per message, microseconds.") var latencyUs = 5.0
    @Option(help: "Network bandwidth, Gb/s.") var bandwidthGbps = 100.0
    @Flag(help: "The first suite layer only, few steps: proves the command works.") var quick = false

    func run() throws {
        let communicator = try Communicator.world()
        defer { communicator.finalize() }
        OpenBLAS.setThreadCount(DistributedThreads.perProcess(size: communicator.size))
        let processes = communicator.size
        let rate = try mean(FlopBound.measureSGEMM() * 1e9, communicator)
        let local = try calibrate(communicator)
        let network = NetworkModel(latency: latencyUs * 1e-6, secondsPerByte: 8 / (bandwidthGbps * 1e9))
        var checks: [[String]] = []
        var predictions: [[String]] = []
        for shape in quick ? [LayerShape.suite[0]] : LayerShape.suite {
            for ngplus in [false, true] {
                let model = LayerStepModel(outputs: shape.outputs, inputs: shape.inputs, localBatch: batch, k: k, ngplus: ngplus)
                let bench = DistributedStepBenchmark(
                    m: shape.outputs, n: shape.inputs, batch: batch * processes, k: k, cycles: quick ? 1 : 5,
                    communicator: communicator)
                let sgd = SGDSettings(learningRate: 1e-3, momentum: 0.9, weightDecay: 1e-4)
                let measured = ngplus
                    ? try bench.measure {
                        try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                            sgd: sgd, inverseInterval: k, batchSize: batch * processes))
                    }
                    : try bench.measure { try SGDOptimizer<Float>(settings: sgd) }
                // Means over the processes, but the owned refresh summed: one process made it.
                var figures = try measured.map { try mean($0, communicator) }
                figures[2] *= Double(processes)
                let here = try model.figures(processes: processes, network: local, rate: rate)
                let name = "\(shape.name) \(ngplus ? "NG+" : "SGD")"
                checks.append([
                    name, Report.format(1000 * here.compute, 2), Report.format(figures[0] + figures[3], 2),
                    Report.format(1000 * here.refresh, 2), Report.format(figures[2], 2),
                    Report.format(1000 * here.communication, 2), Report.format(figures[1], 2),
                    Report.format(here.bytes / 1024, 0), Report.format(figures[4] / 1024, 0),
                ])
                var row = [name, Report.format(here.bytes / 1024, 0)]
                for count in [8, 64, 512] {
                    let predicted = try model.figures(processes: count, network: network, rate: rate)
                    let working = predicted.compute + predicted.refresh
                    row += [Report.format(1000 * predicted.total, 2), Report.format(working / predicted.total, 2)]
                }
                predictions.append(row)
            }
        }
        guard communicator.rank == 0 else { return }
        let transport = processes > 1
            ? "this transport: latency \(Report.format(local.latency * 1e6, 1)) µs, "
                + "\(Report.format(1e-9 / local.secondsPerByte, 2)) GB/s"
            : "one process: no transport"
        print("scaling model: \(processes) process\(processes == 1 ? "" : "es") here, \(OpenBLAS.threadCount) OpenBLAS "
            + "thread(s) each, sgemm \(Report.format(rate / 1e9, 1)) GFLOP/s a process; \(transport); "
            + "\(batch) rows a process, k = \(k)")
        print()
        print("model against this run (ms per step, mean over the processes; compute measured = compute + update, "
            + "which holds the refreshes every process makes: Woodbury's; refresh = the owner's)")
        Report.printTable(
            header: ["layer", "compute model", "measured", "refresh model", "measured", "communication model",
                     "measured", "KB/step model", "measured"],
            rows: checks)
        print()
        print("predicted at \(Report.format(latencyUs, 1)) µs and \(Report.format(bandwidthGbps, 0)) Gb/s (ms per step; efficiency = compute and refresh / the whole step: what communication leaves)")
        Report.printTable(
            header: ["layer", "KB/step", "8: ms", "eff", "64: ms", "eff", "512: ms", "eff"], rows: predictions)
    }

    /// The mean over the processes.
    func mean(_ value: Double, _ communicator: Communicator) throws -> Double {
        var values = [value]
        try communicator.allReduceSum(&values)
        return values[0] / Double(communicator.size)
    }

    /// This transport's latency and bandwidth: median all-reduces of 1 value and of 2²⁰ Floats,
    /// solved for α and β in `NetworkModel.allReduce`.
    func calibrate(_ communicator: Communicator) throws -> NetworkModel {
        let processes = communicator.size
        guard processes > 1 else { return NetworkModel(latency: 0, secondsPerByte: 0) }
        func median(_ count: Int, repetitions: Int) throws -> Double {
            var buffer = [Float](repeating: 1, count: count)
            var times: [Double] = []
            for _ in 0..<repetitions {
                let started = DispatchTime.now().uptimeNanoseconds
                try communicator.allReduceSum(&buffer)
                times.append(seconds(since: started))
            }
            return try mean(times.sorted()[times.count / 2], communicator)
        }
        let small = try median(1, repetitions: 200)
        let large = try median(1 << 20, repetitions: 20)
        let steps = NetworkModel.steps(processes)
        let latency = small / (2 * steps)
        let p = Double(processes)
        let bytes = 4 * Double(1 << 20)
        return NetworkModel(latency: latency, secondsPerByte: max(large - 2 * steps * latency, 0) / (2 * (p - 1) / p * bytes))
    }
}
