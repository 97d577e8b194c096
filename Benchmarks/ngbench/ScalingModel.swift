import Foundation
import NGPlus

/// A network in the α–β model: a latency per message and seconds per byte, with the usual
/// algorithms for large messages (Thakur, Rabenseifner and Gropp 2005): all-reduce as a
/// reduce-scatter and an all-gather by recursive halving and doubling, broadcast as a scatter
/// and an all-gather, all-gather by recursive doubling.
struct NetworkModel {
    let latency: Double
    let secondsPerByte: Double

    static func steps(_ processes: Int) -> Double { processes > 1 ? log2(Double(processes)).rounded(.up) : 0 }

    func allReduce(bytes: Double, processes: Int) -> Double {
        guard processes > 1 else { return 0 }
        let p = Double(processes)
        return 2 * Self.steps(processes) * latency + 2 * (p - 1) / p * bytes * secondsPerByte
    }

    func broadcast(bytes: Double, processes: Int) -> Double {
        allReduce(bytes: bytes, processes: processes)
    }

    /// `totalBytes`: the gathered result (every process's block).
    func allGather(totalBytes: Double, processes: Int) -> Double {
        guard processes > 1 else { return 0 }
        let p = Double(processes)
        return Self.steps(processes) * latency + (p - 1) / p * totalBytes * secondsPerByte
    }
}

/// One dense layer's data-parallel step per process, as `DataParallel` takes it: every process
/// has `localBatch` rows (weak scaling: the global batch grows with the processes), gradients
/// all-reduced every step, NG+'s statistics with them every k-th step (GFIM summed, or Woodbury
/// rows gathered), its refresh made by one owner and broadcast (Woodbury: by every process).
/// Flops at `rate` (one process's measured sgemm rate); NG+'s per plan (`CurvaturePlan`, for
/// the global batch, gradient form: the data-parallel path forms G̃).
struct LayerStepModel {
    let outputs: Int
    let inputs: Int
    let localBatch: Int
    let k: Int
    let ngplus: Bool

    struct Figures {
        /// Seconds of the process's own compute: SGD's GEMMs and NG+'s apply and statistics.
        let compute: Double
        /// Seconds of the owner's refresh, on every process's critical path (a Woodbury refresh,
        /// which every process makes, is in `compute`).
        let refresh: Double
        let communication: Double
        /// Bytes the process contributes to the step's collectives, amortized over k.
        let bytes: Double
        var total: Double { compute + refresh + communication }
    }

    /// NG+'s plan for a global batch.
    func plan(processes: Int) throws -> CurvaturePlan {
        var probe = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            inverseInterval: k, batchSize: processes * localBatch))
        let layer = try probe.register(.dense(outputs: outputs, inputs: inputs, bias: true))
        return try probe.plan(for: layer)!
    }

    func figures(processes: Int, network: NetworkModel, rate: Double) throws -> Figures {
        let (m, width, b, kk) = (Double(outputs), Double(inputs + 1), Double(localBatch), Double(k))
        let gradientBytes = 4 * m * width
        let sgdFlops = 6 * m * width * b
        guard ngplus else {
            return Figures(
                compute: sgdFlops / rate, refresh: 0,
                communication: network.allReduce(bytes: gradientBytes, processes: processes), bytes: gradientBytes)
        }
        let plan = try plan(processes: processes)
        let global = Double(processes) * b
        // The plan's statistics are priced for the global batch; a process forms its rows' share.
        let compute = (sgdFlops + plan.applyFlops + plan.statisticsFlops * (b / global) / kk) / rate
        let refresh = plan.refreshFlops / kk / rate
        if plan.method == .woodbury {
            // Every process makes a Woodbury refresh from the gathered rows: compute, not an
            // owner's.
            let rows = 4 * global * Double(plan.order)
            let communication = network.allReduce(bytes: gradientBytes, processes: processes)
                + network.allGather(totalBytes: rows, processes: processes) / kk
            return Figures(
                compute: compute + refresh, refresh: 0, communication: communication,
                bytes: gradientBytes + rows / Double(processes) / kk)
        }
        let blocks = Double(plan.order) * Double(plan.blockSize)
        let gfimBytes = 4 * min(blocks, Double(plan.order) * Double(plan.order))
        let communication = ((kk - 1) * network.allReduce(bytes: gradientBytes, processes: processes)
            + network.allReduce(bytes: gradientBytes + gfimBytes, processes: processes)
            + network.broadcast(bytes: gfimBytes, processes: processes)) / kk
        // Every process contributes the GFIM every k steps; the owner broadcasts the inverse.
        let bytes = gradientBytes + gfimBytes / kk + (processes > 1 ? gfimBytes / kk / Double(processes) : 0)
        return Figures(compute: compute, refresh: refresh, communication: communication, bytes: bytes)
    }
}
