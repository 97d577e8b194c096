import Foundation

/// Wall-clock statistics of repeated runs of one operation, in milliseconds.
struct TimingStats {
    let median: Double
    let minimum: Double
    let p90: Double
    let repetitions: Int

    /// Runs `body` `warmup` times untimed, then `repetitions` times timed one by one.
    static func measure(warmup: Int, repetitions: Int, _ body: () throws -> Void) rethrows -> TimingStats {
        for _ in 0..<warmup { try body() }
        var samples: [Double] = []
        samples.reserveCapacity(repetitions)
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        samples.sort()
        let p90Index = min(samples.count - 1, Int((Double(samples.count) * 0.9).rounded(.up)) - 1)
        return TimingStats(
            median: samples[samples.count / 2], minimum: samples[0], p90: samples[max(0, p90Index)],
            repetitions: repetitions)
    }

    /// GFLOP/s at the median time for an operation of `flops` floating-point operations.
    func gflops(_ flops: Double) -> Double { flops / (median * 1e6) }
}
