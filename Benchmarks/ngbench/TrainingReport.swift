import Foundation
import NGTrain

/// The outputs of `ngbench train`: a table, the CSV and the SVG chart.
enum TrainingReport {
    static func printTable(_ records: [EpochRecord]) {
        let rows = records.map { r in
            [r.optimizer, "\(r.seed)", "\(r.epoch)", Report.format(r.trainLoss, 4), Report.format(100 * r.testAccuracy, 2) + "%",
             Report.format(r.seconds, 1)]
        }
        Report.printTable(header: ["optimizer", "seed", "epoch", "train loss", "test accuracy", "seconds"], rows: rows)
    }

    /// Per optimizer over its seeds: the first epoch at or above `target` and the training
    /// seconds to it, the best and the final test accuracy, each as median [minimum–maximum];
    /// runs that never reach the target are counted, not averaged in.
    static func printSummary(_ records: [EpochRecord], target: Double) {
        let names = records.reduce(into: [String]()) { if !$0.contains($1.optimizer) { $0.append($1.optimizer) } }
        var rows: [[String]] = []
        for name in names {
            let runs = Dictionary(grouping: records.filter { $0.optimizer == name }, by: \.seed).values
                .map { $0.sorted { $0.epoch < $1.epoch } }
            let reached = runs.compactMap { run in run.first { $0.testAccuracy >= target } }
            let epochs = reached.map { Double($0.epoch) }
            let seconds = reached.map(\.seconds)
            let finals = runs.map { 100 * $0.last!.testAccuracy }
            let bests = runs.map { run in 100 * run.map(\.testAccuracy).max()! }
            rows.append([
                name, "\(reached.count) of \(runs.count)", spread(epochs, 0), spread(seconds, 1),
                spread(bests, 2), spread(finals, 2),
            ])
        }
        print()
        print("summary over seeds (target \(Report.format(100 * target, 1))% test accuracy): median [min–max]")
        Report.printTable(
            header: ["optimizer", "reached", "first epoch ≥ target", "seconds to target", "best %", "final %"],
            rows: rows)
    }

    /// "median [min–max]" of `values`, or "—" for none.
    static func spread(_ values: [Double], _ decimals: Int) -> String {
        guard !values.isEmpty else { return "—" }
        let sorted = values.sorted()
        let median = sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        if sorted.count == 1 { return Report.format(median, decimals) }
        return "\(Report.format(median, decimals)) [\(Report.format(sorted.first!, decimals))–\(Report.format(sorted.last!, decimals))]"
    }

    /// The flop account (per layer, per sample), then each optimizer's seconds per epoch (the
    /// median over seeds) against the bound and against SGD's.
    static func printFlopBound(_ bound: FlopBound, records: [EpochRecord]) {
        print()
        let rows = bound.account.map { layer in
            [layer.name, Report.format(layer.forward / 1e6, 3), Report.format(layer.backward / 1e6, 3),
             Report.format((layer.forward + layer.backward) * Double(bound.samplesPerEpoch) / 1e12, 3)]
        } + [["total", Report.format(bound.account.reduce(0) { $0 + $1.forward } / 1e6, 3),
              Report.format(bound.account.reduce(0) { $0 + $1.backward } / 1e6, 3),
              Report.format(bound.epochFlops / 1e12, 3)]]
        Report.printTable(header: ["layer", "forward Mflop/sample", "backward Mflop/sample", "Tflop/epoch"], rows: rows)
        print("flop bound: \(Report.format(bound.epochFlops / 1e12, 3)) Tflop an epoch (\(bound.samplesPerEpoch) samples) "
            + "at \(Report.format(bound.sgemmGflops, 1)) GFLOP/s (sgemm n=1024, this run, summed over the processes of a data-parallel run) = \(Report.format(bound.epochSeconds, 2)) s")
        // Seconds per epoch of each run (its last record), the median over seeds.
        var perRun: [String: [Double]] = [:]
        for run in Dictionary(grouping: records, by: { "\($0.optimizer) \($0.seed)" }).values {
            let last = run.max { $0.epoch < $1.epoch }!
            perRun[last.optimizer, default: []].append(last.seconds / Double(last.epoch))
        }
        let perEpoch = perRun.mapValues { values in values.sorted()[values.count / 2] }
        let names = records.reduce(into: [String]()) { if !$0.contains($1.optimizer) { $0.append($1.optimizer) } }
        let sgd = perEpoch["sgd"]
        let costRows = names.map { name in
            let seconds = perEpoch[name]!
            return [name, Report.format(seconds, 2), Report.format(seconds / bound.epochSeconds, 2),
                    sgd.map { Report.format(seconds / $0, 2) } ?? "—"]
        }
        Report.printTable(header: ["optimizer", "seconds/epoch", "× flop bound", "× SGD"], rows: costRows)
    }

    /// `optimizer,seed,epoch,train_loss,test_accuracy,seconds`, one row per optimizer, seed and epoch.
    static func writeCSV(_ records: [EpochRecord], to path: String) throws {
        var lines = ["optimizer,seed,epoch,train_loss,test_accuracy,seconds"]
        for r in records { lines.append("\(r.optimizer),\(r.seed),\(r.epoch),\(r.trainLoss),\(r.testAccuracy),\(r.seconds)") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Test accuracy against training seconds and epochs (`writeChart`), each optimizer's first
    /// seed's run.
    static func writeSVG(_ allRecords: [EpochRecord], to path: String) throws {
        let records = allRecords.filter { $0.seed == allRecords.first?.seed }
        try writeChart(
            records.map { ChartPoint(series: $0.optimizer, seconds: $0.seconds, epoch: $0.epoch, value: $0.testAccuracy) },
            label: "test accuracy", format: { Report.format(100 * $0, 1) + "%" }, to: path)
    }

    /// Two panels: `label` against training seconds, and against epochs; one line and colour per
    /// series, in the order they first appear.
    static func writeChart(_ points: [ChartPoint], label: String, format: (Double) -> String, to path: String) throws {
        let names = points.reduce(into: [String]()) { if !$0.contains($1.series) { $0.append($1.series) } }
        let colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]
        let (panelWidth, height, margin) = (420.0, 300.0, 50.0)
        let values = points.map(\.value)
        let (smallest, largest) = (values.min() ?? 0, values.max() ?? 1)
        let span = max(largest - smallest, 1e-6 * max(1, abs(largest)))
        let (low, high) = (smallest - 0.05 * span, largest + 0.05 * span)
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(2 * panelWidth + 3 * margin))" height="\(Int(height + 2 * margin))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>

        """
        for (panel, (title, position)) in [("seconds", { (p: ChartPoint) in p.seconds }), ("epoch", { (p: ChartPoint) in Double(p.epoch) })].enumerated() {
            let left = margin + Double(panel) * (panelWidth + margin)
            let maxX = points.map(position).max() ?? 1
            func x(_ v: Double) -> Double { left + panelWidth * v / maxX }
            func y(_ a: Double) -> Double { margin + height * (1 - (a - low) / (high - low)) }
            svg += "<rect x=\"\(left)\" y=\"\(margin)\" width=\"\(panelWidth)\" height=\"\(height)\" fill=\"none\" stroke=\"#999\"/>\n"
            svg += "<text x=\"\(left + panelWidth / 2)\" y=\"\(margin + height + 35)\" text-anchor=\"middle\">\(title == "seconds" ? "training seconds" : "epoch")</text>\n"
            for tick in 0...4 {
                let a = low + (high - low) * Double(tick) / 4
                svg += "<text x=\"\(left - 5)\" y=\"\(y(a) + 4)\" text-anchor=\"end\">\(format(a))</text>\n"
            }
            // Seconds in quarters of the run; epochs at whole numbers (at most about six).
            let ticks = title == "seconds"
                ? (0...4).map { maxX * Double($0) / 4 }
                : Array(stride(from: 0, through: maxX, by: max(1, (maxX / 5).rounded(.up))))
            for v in ticks {
                svg += "<text x=\"\(x(v))\" y=\"\(margin + height + 15)\" text-anchor=\"middle\">\(Report.format(v, title == "seconds" && maxX < 10 ? 1 : 0))</text>\n"
            }
            for (index, name) in names.enumerated() {
                let line = points.filter { $0.series == name }.map { "\(x(position($0))),\(y($0.value))" }
                svg += "<polyline fill=\"none\" stroke=\"\(colours[index % colours.count])\" stroke-width=\"2\" points=\"\(line.joined(separator: " "))\"/>\n"
            }
        }
        // Legend: a swatch of each line's colour, then the series' name.
        for (index, name) in names.enumerated() {
            let colour = colours[index % colours.count]
            let start = margin + 200 + Double(index) * 110
            svg += "<line x1=\"\(start)\" y1=\"\(margin - 19)\" x2=\"\(start + 20)\" y2=\"\(margin - 19)\" stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(start + 25)\" y=\"\(margin - 15)\" fill=\"\(colour)\">\(name)</text>\n"
        }
        svg += "<text x=\"\(margin)\" y=\"\(margin - 15)\">\(label)</text>\n</svg>\n"
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// One point of a chart's line: a run's value after an epoch.
struct ChartPoint {
    let series: String
    let seconds: Double
    let epoch: Int
    let value: Double
}
