import NGKernels

/// The suite's performance targets, judged on this run's figures (never in a test). The kernel
/// targets compare with raw `cblas_sgemm` at the same shape, timed in the same table seconds
/// before: the machine is shared and its speed drifts over a run, so the peak measured first can
/// be from a quieter minute. Each also shows its fraction of that peak.
enum Targets {
    static func evaluate(kernels: [KernelFigure], steps: [StepFigure], choice: KernelChoiceFigure?) -> [Target] {
        var targets: [Target] = []
        if let choice {
            let measured = "\(percent(choice.ratio)) (\(Report.format(choice.gflopsChosen, 1)) vs "
                + "\(Report.format(choice.gflopsFittingForced, 1)) GFLOP/s with \(choice.fittingCore))"
            if BenchKernels.choiceName == "detected" && !OpenBLAS.kernelFit.isBelowCPU {
                // OpenBLAS detected kernels at the CPU's vector level (the fitting core, or one
                // at its level: Cooperlake is SkylakeX with BF16 kernels): the target is that
                // nothing changes. The ratio is the machine's noise, or the two cores' small
                // difference, shown only.
                targets.append(Target(
                    name: "kernels as OpenBLAS detected them (\(choice.coreUsed), at the CPU's level): left unchanged",
                    measured: "unchanged; the same kernels timed twice: " + measured, met: true))
            } else {
                targets.append(Target(
                    name: "kernels chosen automatically (\(choice.coreUsed)): sgemm n = \(choice.n) ≥ 90% of the fitting core forced",
                    measured: measured, met: choice.ratio >= 0.9))
            }
        }
        let rawGEMM = kernels.first { $0.kernel == KernelBenchmarks.rawGEMMName }
        func kernelTarget(_ name: String, minimumOrder: Int, share: Double, _ title: String) {
            guard let figure = kernels.first(where: { $0.kernel == name }), figure.m >= minimumOrder else { return }
            let ofGEMM = rawGEMM.map { figure.gflops / $0.gflops } ?? figure.fractionOfPeak
            targets.append(Target(
                name: "\(title) at m = \(figure.m), n = \(figure.n): ≥ \(percent(share)) of sgemm",
                measured: "\(percent(ofGEMM)) of raw sgemm (\(percent(figure.fractionOfPeak)) of the peak)",
                met: ofGEMM >= share))
        }
        kernelTarget(KernelBenchmarks.applyName, minimumOrder: 512, share: 0.85, "apply F̂⁻¹·G")
        kernelTarget(KernelBenchmarks.refreshName, minimumOrder: 1024, share: 0.40, "refresh (GFIM + Cholesky inverse)")
        if let rows = withinBound(steps.filter { $0.k == 10 }, "NG+/SGD within 15% of its flop bound at k = 10, every shape and form") {
            targets.append(rows)
        }
        if let mlp = steps.first(where: { $0.m == 256 && $0.n == 784 && $0.batch == 128 && $0.k == 10 && $0.form == "fused" }) {
            targets.append(Target(
                name: "Fashion-MNIST MLP fc1 784→256, batch 128, k = 10, fused: NG+/SGD ≤ 1.3",
                measured: Report.format(mlp.ratio, 2), met: mlp.ratio <= 1.3))
        }
        return targets
    }

    /// The sequence workloads' targets: the attention projections within 15% of their flop
    /// bound at k = 10, and an embedding step whose cost does not grow with the vocabulary
    /// (every optimizer's step at the largest table within 20% of the smallest's, on the same
    /// lookups: the timing noise of a shared machine, not a factor of the sizes).
    static func sequence(attention: [StepFigure], embedding: [EmbeddingStepFigure]) -> [Target] {
        var targets: [Target] = []
        if let rows = withinBound(attention, "attention projections on token rows: NG+/SGD within 15% of its flop bound at k = 10") {
            targets.append(rows)
        }
        if let small = embedding.min(by: { $0.vocabulary < $1.vocabulary }),
           let large = embedding.max(by: { $0.vocabulary < $1.vocabulary }), large.vocabulary > small.vocabulary {
            let growth = [("SGD", large.sgdMs / small.sgdMs), ("Adam", large.adamMs / small.adamMs),
                          ("K-FAC", large.kfacMs / small.kfacMs), ("NG+", large.ngplusMs / small.ngplusMs)]
            targets.append(Target(
                name: "embedding step cost independent of the vocabulary: \(large.vocabulary) rows vs \(small.vocabulary), "
                    + "same lookups, every optimizer within 20%",
                measured: growth.map { "\($0.0) \(Report.format($0.1, 2))×" }.joined(separator: ", "),
                met: growth.allSatisfy { $0.1 <= 1.2 }))
        }
        return targets
    }

    /// Every row's NG+/SGD within 15% of its flop bound, and the worst row; nil without rows.
    static func withinBound(_ rows: [StepFigure], _ name: String) -> Target? {
        guard let worst = rows.max(by: { $0.ratio / $0.bound < $1.ratio / $1.bound }) else { return nil }
        let within = rows.filter { $0.ratio <= 1.15 * $0.bound }
        return Target(
            name: name,
            measured: "\(within.count) of \(rows.count) rows; worst \(worst.layer) batch \(worst.batch) \(worst.form): "
                + "\(Report.format(worst.ratio, 2)) vs bound \(Report.format(worst.bound, 2))",
            met: within.count == rows.count)
    }

    static func percent(_ fraction: Double) -> String { Report.format(100 * fraction, 0) + "%" }
}
