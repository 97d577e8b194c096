import Foundation
import Testing

/// True in a release build of the tests (`swift test -c release`), whose `ngdistcheck` is
/// optimized too: allocation counts mean something only for optimized code.
let isOptimizedBuild: Bool = {
    #if DEBUG
    return false
    #else
    return true
    #endif
}()

/// Warm data-parallel steps allocate nothing of their own (`ngdistcheck --count-allocations`:
/// four steps after six, two of them refreshes, with the malloc counter of the test suites).
@Suite(
    .serialized, .enabled(if: mpirunPath != nil, "mpirun is not installed (scripts/bootstrap installs openmpi-bin)"),
    .enabled(if: isOptimizedBuild, "allocation counts are for optimized code"))
struct DataParallelAllocationTests {
    /// (allocations, MPI calls) of every process's report.
    func counts(_ output: String) -> [(allocations: Int, calls: Int)] {
        output.split(separator: "\n").compactMap { line in
            guard let match = line.firstMatch(of: /allocations in 4 warm steps: (\d+), MPI calls (\d+)/) else { return nil }
            return (Int(match.1)!, Int(match.2)!)
        }
    }

    /// One process: no MPI traffic, and nothing allocated at all. On OpenBLAS's Haswell kernels
    /// where the CPU runs them: its AVX-512 cores (SkylakeX, Cooperlake) have small-matrix DGEMM
    /// kernels that allocate inside OpenBLAS on some untransposed shapes (one `malloc` a call at
    /// 50 × 50 × 50, seen with gdb in K-FAC's apply), which is not the package's allocation.
    @Test(arguments: ["ngplus", "woodbury", "kfac", "sgd", "adam", "muon", "shampoo"])
    func oneProcessAllocatesNothing(optimizer: String) throws {
        let run = try runUnderMPI(
            processes: 1, ["--optimizer", optimizer, "--model", "mlp", "--count-allocations"],
            environment: cpuHasAVX2AndFMA ? ["OPENBLAS_CORETYPE": "Haswell"] : [:])
        let reports = counts(run.output)
        #expect(reports.count == 1, "\(run.output)")
        #expect(reports.allSatisfy { $0.allocations == 0 }, "\(run.output)")
    }

    /// Two processes: only Open MPI's own buffers, at most two a collective (its ring all-reduce
    /// and pipelined broadcast allocate a buffer and a send request per call, inside
    /// `PMPI_Allreduce` and `PMPI_Bcast`: seen with gdb), never one per value or per layer —
    /// the ResNet's batch normalization sums and the SchNet's pair rows included. On Haswell's
    /// kernels, as above: the ResNet's small convolutions run by sample, one small DGEMM per
    /// sample and product in Double, and the AVX-512 kernels allocate in each (48 a step of
    /// `ngdistcheck`'s ResNet, none on Haswell's).
    @Test(arguments: ["ngplus", "woodbury", "kfac", "sgd", "adam"])
    func twoProcessesAllocateOnlyInsideMPI(optimizer: String) throws {
        for model in optimizer == "woodbury" ? ["mlp"] : ["mlp", "cnn", "resnet", "schnet"] {
            let run = try runUnderMPI(
                processes: 2, ["--optimizer", optimizer, "--model", model, "--count-allocations"],
                environment: cpuHasAVX2AndFMA ? ["OPENBLAS_CORETYPE": "Haswell"] : [:])
            let reports = counts(run.output)
            #expect(reports.count == 2, "\(run.output)")
            #expect(reports.allSatisfy { $0.calls > 0 && $0.allocations <= 2 * $0.calls }, "\(optimizer) \(model): \(run.output)")
        }
    }
}
