import CBLAS
import NGKernels

/// The machine's measured GEMM peak: raw `cblas_sgemm`/`cblas_dgemm` on square matrices,
/// called directly so that no wrapper of ours is in the measurement.
struct MachinePeak {
    let coreName: String
    let threads: Int
    let sgemm: [(size: Int, gflops: Double)]
    let dgemm: [(size: Int, gflops: Double)]

    /// The best sgemm figure, the denominator of every "fraction of peak".
    var sgemmPeak: Double { sgemm.map(\.gflops).max() ?? .nan }

    static func measure(sizes: [Int], plan: RunPlan) -> MachinePeak {
        var single: [(Int, Double)] = []
        var double: [(Int, Double)] = []
        for n in sizes {
            plan.progress("machine: sgemm/dgemm n = \(n)")
            single.append((n, rawGEMM(Float.self, n: n, plan: plan)))
            double.append((n, rawGEMM(Double.self, n: n, plan: plan)))
        }
        return MachinePeak(
            coreName: OpenBLAS.coreName, threads: OpenBLAS.threadCount, sgemm: single, dgemm: double)
    }

    /// GFLOP/s of a raw square GEMM of order n.
    static func rawGEMM<S: BLASScalar>(_: S.Type, n: Int, plan: RunPlan) -> Double {
        var generator = SeededGenerator(seed: 1)
        let a = Matrix<S>.random(rows: n, columns: n, using: &generator).elements
        let b = Matrix<S>.random(rows: n, columns: n, using: &generator).elements
        var c = [S](repeating: 0, count: n * n)
        let n32 = Int32(n)
        let stats = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    TimingStats.measure(warmup: plan.warmup, repetitions: plan.repetitions) {
                        if S.self == Float.self {
                            cblas_sgemm(
                                CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32, 1,
                                UnsafeRawPointer(pa.baseAddress!).assumingMemoryBound(to: Float.self), n32,
                                UnsafeRawPointer(pb.baseAddress!).assumingMemoryBound(to: Float.self), n32, 0,
                                UnsafeMutableRawPointer(pc.baseAddress!).assumingMemoryBound(to: Float.self), n32)
                        } else {
                            cblas_dgemm(
                                CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32, 1,
                                UnsafeRawPointer(pa.baseAddress!).assumingMemoryBound(to: Double.self), n32,
                                UnsafeRawPointer(pb.baseAddress!).assumingMemoryBound(to: Double.self), n32, 0,
                                UnsafeMutableRawPointer(pc.baseAddress!).assumingMemoryBound(to: Double.self), n32)
                        }
                    }
                }
            }
        }
        return stats.gflops(2 * Double(n) * Double(n) * Double(n))
    }
}
