import NGDistributed
import NGKernels
import NGTrain

/// A training epoch's flop bound: the model's GEMM flops per sample (`Model.flopAccount`)
/// times the samples of an epoch, at the sgemm rate measured in the same run (before and
/// after training; the higher, so that a noisy minute does not flatter the epochs).
struct FlopBound {
    let account: [LayerFlops]
    let samplesPerEpoch: Int
    let sgemmGflops: Double

    var flopsPerSample: Double { account.reduce(0) { $0 + $1.forward + $1.backward } }
    var epochFlops: Double { flopsPerSample * Double(samplesPerEpoch) }
    /// Seconds an epoch takes if every flop runs at the sgemm rate.
    var epochSeconds: Double { epochFlops / (sgemmGflops * 1e9) }

    /// Raw sgemm GFLOP/s at n = 1024 on this process's kernels and threads.
    static func measureSGEMM() -> Double {
        MachinePeak.rawGEMM(Float.self, n: 1024, plan: RunPlan(warmup: 3, repetitions: 15, quick: false))
    }

    /// `measureSGEMM` on every process of `communicator` at once, summed (one process alone
    /// when nil): the rate of a data-parallel run.
    static func measureSGEMM(summedOver communicator: Communicator?) throws -> Double {
        var rate = [measureSGEMM()]
        if let communicator { try communicator.allReduceSum(&rate) }
        return rate[0]
    }
}
