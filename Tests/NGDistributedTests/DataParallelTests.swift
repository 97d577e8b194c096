import Foundation
import Testing

/// Data-parallel training under mpirun, end to end (`ngdistcheck`): the same weights as one
/// process after six steps, to the tolerance of the sums' order, and the same state bytes on
/// every process (refreshes made by their owners and adopted by the others); a failure on one process
/// reported on every process in the same step; a killed process ending the run.
@Suite(.serialized, .enabled(if: mpirunPath != nil, "mpirun is not installed (scripts/bootstrap installs openmpi-bin)"))
struct DataParallelTests {
    /// Every optimizer and statistics path: NG+ explicit (GFIM summed) and Woodbury (rows
    /// gathered), K-FAC (factors summed), SGD, Adam, Muon and Shampoo (gradients only); dense
    /// and conv2d, and a
    /// 1-block Transformer whose batch is split by whole sequences (LayerNorm's vector and the
    /// positions' matrix parameters too). Not Adam on the Transformer: a gradient entry that
    /// LayerNorm makes zero up to rounding is normalized by Adam to a full step, so its
    /// rounding differences are not bounded by the sums' order (measured 2e-11 and 5e-11
    /// against the bound's 4e-12). A small DLRM: its bags' sparse steps from every process's
    /// lookups, its interaction, its MLPs. A small SchNet, its batch split by whole molecules:
    /// its species table and every dense layer (filter networks on pair rows, atom-wise layers
    /// on atom rows) under NG+, K-FAC and Adam. A small ResNet, whose batch normalization takes
    /// the whole batch's statistics over the processes (without them the weights differed by
    /// 5–27% on two and five processes); not Adam, for the reason above: a convolution's bias
    /// followed by batch normalization has a gradient that is zero up to rounding.
    static let cases: [(optimizer: String, model: String)] = [
        ("ngplus", "mlp"), ("ngplus", "cnn"), ("woodbury", "mlp"), ("kfac", "mlp"), ("kfac", "cnn"),
        ("sgd", "mlp"), ("sgd", "cnn"), ("adam", "mlp"), ("ngplus-adam", "mlp"), ("muon", "mlp"), ("muon", "cnn"),
        ("shampoo", "mlp"),
        ("ngplus", "transformer"), ("kfac", "transformer"), ("sgd", "transformer"),
        ("ngplus", "dlrm"), ("kfac", "dlrm"), ("sgd", "dlrm"),
        ("ngplus", "schnet"), ("kfac", "schnet"), ("adam", "schnet"),
        ("ngplus", "resnet"), ("kfac", "resnet"), ("sgd", "resnet"), ("muon", "resnet"), ("shampoo", "resnet"),
    ]

    /// One process under mpirun, two (half the batch each), and five (12 rows as 3, 3, 2, 2, 2:
    /// unequal shares).
    @Test(arguments: [1, 2, 5])
    func sameAnswerAsOneProcess(processes: Int) throws {
        for (optimizer, model) in Self.cases {
            let run = try runUnderMPI(processes: processes, ["--optimizer", optimizer, "--model", model])
            let lines = run.output.split(separator: "\n").filter { $0.contains("relative difference") }
            #expect(run.status == 0, "\(optimizer) \(model) on \(processes): \(run.output)")
            #expect(lines.count == processes, "every process reports: \(run.output)")
            let identical = run.output.split(separator: "\n").filter { $0.contains("state identical on every process: true") }
            #expect(identical.count == processes, "every process holds the same state bytes: \(run.output)")
            if processes > 1 && (optimizer == "ngplus" || optimizer == "kfac") {
                // The refreshes were made by their owners and broadcast, not by every process.
                #expect(run.output.contains(/broadcast [1-9][0-9]* values as refresh owner/), "\(run.output)")
            }
            // NG+'s Woodbury layers and K-FAC's low-rank input factors (the MLP's at 12 rows)
            // gather their rows.
            if processes > 1 && (optimizer == "woodbury" || (optimizer == "kfac" && model == "mlp")) {
                #expect(run.output.contains(/gathered [1-9][0-9]*/), "\(run.output)")
            }
        }
    }

    /// A checkpoint written by rank 0 of two processes after three steps (the optimizer's
    /// state and the weights) resumed by three processes and by one: the same weights as one
    /// process that never stopped.
    @Test(arguments: ["ngplus", "woodbury", "kfac", "adam", "muon", "shampoo"])
    func checkpointFromRankZeroLoadsAtAnyWorldSize(optimizer: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ngdist-\(getpid())-\(optimizer)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let common = ["--optimizer", optimizer, "--model", "mlp"]
        let save = try runUnderMPI(processes: 2, common + ["--save-at", "3", "--checkpoint", directory.path])
        #expect(save.status == 0, "\(save.output)")
        for processes in [3, 1] {
            let resumed = try runUnderMPI(processes: processes, common + ["--resume", directory.path, "--from", "3"])
            #expect(resumed.status == 0, "resumed on \(processes): \(resumed.output)")
        }
    }

    /// A NaN in rank 1's rows: rank 1 throws NG+'s own `nonFinite` from its observe, rank 0
    /// `peerFailed` naming rank 1, both in step 2, and the run ends (exit 3 from the check).
    @Test func failureOnOneProcessStopsEveryProcessInTheSameStep() throws {
        let run = try runUnderMPI(
            processes: 2, ["--optimizer", "ngplus", "--model", "mlp", "--fail-rank", "1", "--fail-step", "2"], timeout: 60)
        #expect(run.status == 3, "\(run.output)")
        #expect(run.output.contains("rank 1 step 2: NGError: NGPlusOptimizer.observe: inputs has a non-finite value"))
        #expect(run.output.contains("rank 0 step 2: DistributedError: DataParallel.synchronize: rank 1 failed in this step"))
    }

    /// Rank 1's rows of step 2 lack a column: its forward pass fails at the ResNet's first
    /// convolution, before any batch normalization sum. It makes the step's sums with nothing
    /// to add, so rank 0 is not left waiting in one (without that the run hung), and both throw
    /// in step 2 — rank 1 its own error, rank 0 `peerFailed`.
    @Test func aForwardFailureBeforeBatchNormalizationStopsEveryProcess() throws {
        let run = try runUnderMPI(
            processes: 2, ["--optimizer", "ngplus", "--model", "resnet", "--short-rank", "1", "--fail-step", "2"], timeout: 60)
        #expect(run.status == 3, "\(run.output)")
        #expect(run.output.contains("rank 1 step 2: NGError: Conv2d.forward: input has shape 6×35, expected 6×36"))
        #expect(run.output.contains("rank 0 step 2: DistributedError: DataParallel.synchronize: rank 1 failed in this step"))
    }

    /// A NaN in rank 0's rows under SGD, which does not scan observations: the all-reduced
    /// gradient is NaN everywhere and every process throws the same `nonFinite` from its step.
    @Test func badInputOnOneProcessIsTheSameErrorEverywhere() throws {
        let run = try runUnderMPI(
            processes: 2, ["--optimizer", "sgd", "--model", "cnn", "--fail-rank", "0", "--fail-step", "2"], timeout: 60)
        #expect(run.status == 3, "\(run.output)")
        for rank in 0..<2 {
            #expect(run.output.contains("rank \(rank) step 2: NGError: SGDOptimizer.step: gradient has a non-finite value"))
        }
    }

    /// The first refresh of the 32→5 layer fails on every rung (λ = 1e-300, no retries: its
    /// GFIM is singular, softmax gradients sum to zero) on its owner, rank 1: rank 1 throws
    /// `notPositiveDefinite`, rank 0 `peerFailed` naming it, in step 0.
    @Test func refreshFailingOnItsOwnerStopsEveryProcess() throws {
        let run = try runUnderMPI(
            processes: 2, ["--optimizer", "ngplus", "--model", "mlp", "--damping", "1e-300", "--max-retries", "0"],
            timeout: 60)
        #expect(run.status == 3, "\(run.output)")
        #expect(run.output.contains("rank 1 step 0: NGError: DampedInverse.refresh: block 0 is not positive definite"))
        #expect(run.output.contains("rank 0 step 0: DistributedError: DataParallel.synchronize: rank 1 failed in this step"))
    }

    /// A later refresh that fails on its owner while an inverse is in use (λ falls to 1e-151 at
    /// step 2): the owner keeps the inverse in use and says so in its record, and every process
    /// counts the survived failure and keeps the same state. (The weights are not compared: an
    /// inverse of a nearly singular GFIM amplifies the sums' rounding beyond any useful bound.)
    /// Whether that factorization fails is decided by rounding: the GFIM is singular and its
    /// shift (3e-76) below its rounding level, so a pivot comes out a rounding error of either
    /// sign. OpenBLAS's Haswell kernels make one negative (so do its Zen kernels; its SkylakeX
    /// kernels, which an AVX-512 CPU gets, leave every pivot positive), so they are pinned here
    /// where the CPU can run them.
    @Test(.enabled(if: cpuHasAVX2AndFMA, "needs AVX2 and FMA for the Haswell kernels"))
    func survivedRefreshFailureIsTheSameOnEveryProcess() throws {
        let run = try runUnderMPI(
            processes: 2,
            ["--optimizer", "ngplus", "--model", "mlp", "--damping-factor", "1e-149", "--max-retries", "0"], timeout: 60,
            environment: ["OPENBLAS_CORETYPE": "Haswell"])
        for rank in 0..<2 {
            let line = run.output.split(separator: "\n").first { $0.hasPrefix("rank \(rank): state identical") }
            #expect(line?.contains("state identical on every process: true") == true, "\(run.output)")
            #expect(line?.hasSuffix("survived refresh failures 1") == true, "\(run.output)")
        }
    }

    /// Rank 1 registered one layer more: every process throws `mismatch` at its first step
    /// instead of all-reducing buffers of different lengths.
    /// A token id that is not one (a NaN) in rank 1's first batch: its forward pass throws,
    /// and the failure still travels through the first step's synchronization — rank 1 throws
    /// its own error, rank 0 `peerFailed` naming it, neither waits for the other.
    @Test func aForwardFailureInTheFirstStepStopsEveryProcess() throws {
        let run = try runUnderMPI(
            processes: 2, ["--optimizer", "sgd", "--model", "transformer", "--fail-rank", "1", "--fail-step", "0"],
            timeout: 60)
        #expect(run.status == 3, "\(run.output)")
        #expect(run.output.contains("rank 1 step 0: NGError: TokenEmbedding.forward: input row 0 holds nan"), "\(run.output)")
        #expect(run.output.contains("rank 0 step 0: DistributedError: DataParallel.synchronize: rank 1 failed"), "\(run.output)")
    }

    @Test func processesWithDifferentLayersStopAtTheFirstStep() throws {
        let run = try runUnderMPI(
            processes: 2, ["--optimizer", "sgd", "--model", "mlp", "--mismatch-rank", "1"], timeout: 60)
        #expect(run.status == 3, "\(run.output)")
        for rank in 0..<2 {
            #expect(run.output.contains("rank \(rank) step 0: DistributedError: DataParallel.synchronize: the processes disagree"))
        }
    }

    /// Rank 1 SIGKILLed in step 2 while rank 0 waits in the all-reduce: mpirun ends the run in
    /// seconds, not at the test's timeout.
    @Test func killedProcessEndsTheRun() throws {
        let run = try runUnderMPI(
            processes: 2, ["--optimizer", "ngplus", "--model", "mlp", "--kill-rank", "1", "--kill-step", "2"], timeout: 60)
        #expect(run.status != 0 && run.status != -1, "\(run.output)")
        #expect(run.seconds < 20, "the run ended \(run.seconds) s after it started")
    }
}
