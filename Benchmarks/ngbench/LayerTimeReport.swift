import NGTrain

/// The per-layer time account of one run (`LayerTimeAccount`), per step: each row's forward,
/// backward and optimizer milliseconds, its flops — the model's GEMMs and the optimizer's own
/// (statistics, refreshes, preconditioning; `LayerOptimizer.extraFlopsPerStep`) — and its
/// whole time against them at the run's sgemm rate (× bound; elementwise rows have none). The
/// whole time, because a dense layer hands its optimizer the factors of its weight gradient and
/// the optimizer's step forms it (or, NG+'s fused step, applies the preconditioner in its
/// place): that GEMM is in the optimizer column.
enum LayerTimeReport {
    static func print(_ account: LayerTimeAccount, optimizer: String, sgemmGflops: Double) {
        guard account.steps > 0 else { return }
        let steps = Double(account.steps)
        let samplesPerStep = Double(account.samples) / steps
        func milliseconds(_ seconds: Double) -> String { Report.format(seconds / steps * 1e3, 2) }
        func bound(_ seconds: Double, _ flops: Double) -> String {
            flops > 0 ? Report.format(seconds / steps / (flops / (sgemmGflops * 1e9)), 2) : "—"
        }
        var rows: [[String]] = []
        var (accounted, totalFlops) = (0.0, 0.0)
        for row in account.rows where row.forwardSeconds + row.backwardSeconds + row.optimizerSeconds > 0 {
            let flops = (row.forwardFlops + row.backwardFlops) * samplesPerStep + row.optimizerFlops
            let whole = row.forwardSeconds + row.backwardSeconds + row.optimizerSeconds
            accounted += whole
            totalFlops += flops
            rows.append([
                row.name, "\(row.layers)", milliseconds(row.forwardSeconds), milliseconds(row.backwardSeconds),
                milliseconds(row.optimizerSeconds), flops > 0 ? Report.format(flops / 1e9, 3) : "—",
                row.optimizerFlops > 0 ? Report.format(row.optimizerFlops / 1e9, 3) : "—", bound(whole, flops),
            ])
        }
        rows.append(["rest (copies, releases)", "", "", "", "", "", "", ""])
        rows[rows.count - 1][2] = milliseconds(account.stepSeconds - accounted)
        let optimizerFlops = account.rows.reduce(0) { $0 + $1.optimizerFlops }
        rows.append(["step", "", "", "", milliseconds(account.stepSeconds), Report.format(totalFlops / 1e9, 3),
                     Report.format(optimizerFlops / 1e9, 3), bound(account.stepSeconds, totalFlops)])
        Swift.print()
        Swift.print("\(optimizer): where a step's time goes (ms a step, mean of \(account.steps) steps of "
            + "\(Report.format(samplesPerStep, 0)) rows; GFLOP: the model's GEMMs and, of them, the optimizer's own; "
            + "× bound: the row's time against them at \(Report.format(sgemmGflops, 1)) GFLOP/s, this run's sgemm; "
            + "a dense layer's weight gradient is formed in its optimizer step)")
        Report.printTable(
            header: ["layer", "layers", "forward", "backward", "optimizer", "GFLOP", "optimizer's", "× bound"], rows: rows)
    }
}
