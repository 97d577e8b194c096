/// The suite's performance targets, judged on this run's figures (never in a test).
enum Targets {
    static func evaluate(kernels: [KernelFigure], steps: [StepFigure]) -> [Target] {
        var targets: [Target] = []
        if let apply = kernels.first(where: { $0.kernel == KernelBenchmarks.applyName }), apply.m >= 512 {
            targets.append(Target(
                name: "apply F̂⁻¹·G at m = \(apply.m), n = \(apply.n): ≥ 85% of sgemm",
                measured: percent(apply.fractionOfPeak), met: apply.fractionOfPeak >= 0.85))
        }
        if let refresh = kernels.first(where: { $0.kernel == KernelBenchmarks.refreshName }), refresh.m >= 1024 {
            targets.append(Target(
                name: "refresh (GFIM + Cholesky inverse) at m = \(refresh.m): ≥ 40% of sgemm",
                measured: percent(refresh.fractionOfPeak), met: refresh.fractionOfPeak >= 0.40))
        }
        let atTen = steps.filter { $0.k == 10 }
        if !atTen.isEmpty {
            let within = atTen.filter { $0.ratio <= 1.15 * $0.bound }
            let worst = atTen.max { $0.ratio / $0.bound < $1.ratio / $1.bound }!
            targets.append(Target(
                name: "NG+/SGD within 15% of its flop bound at k = 10, every shape and form",
                measured: "\(within.count) of \(atTen.count) rows; worst \(worst.layer) batch \(worst.batch) \(worst.form): "
                    + "\(Report.format(worst.ratio, 2)) vs bound \(Report.format(worst.bound, 2))",
                met: within.count == atTen.count))
        }
        if let mlp = steps.first(where: { $0.m == 256 && $0.n == 784 && $0.batch == 128 && $0.k == 10 && $0.form == "fused" }) {
            targets.append(Target(
                name: "Fashion-MNIST MLP fc1 784→256, batch 128, k = 10, fused: NG+/SGD ≤ 1.3",
                measured: Report.format(mlp.ratio, 2), met: mlp.ratio <= 1.3))
        }
        return targets
    }

    static func percent(_ fraction: Double) -> String { Report.format(100 * fraction, 0) + "%" }
}
