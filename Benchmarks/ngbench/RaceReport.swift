import Foundation

/// The race's tables, CSV files and the SVG of its performance profiles.
enum RaceReport {
    /// Per workload and optimizer: seeds that reached the target, median [range] seconds and
    /// steps to it, milliseconds a step, the ratio to the fastest; then each optimizer's score.
    static func print(_ standings: RaceStandings) {
        Swift.print("\n\(standings.track.rawValue) track: time to target (training seconds, median [range] over seeds)")
        Report.printTable(
            header: ["workload", "optimizer", "reached", "seconds", "steps", "ms/step", "× fastest", "lr", "λ", "k"],
            rows: standings.entries.map { entry in
                let reached = entry.seconds.compactMap { $0 }
                let h = entry.trials[0].hyperparameters
                return [
                    entry.workload.rawValue, entry.entrant.rawValue, "\(reached.count)/\(entry.trials.count)",
                    entry.medianSeconds.map { Report.format($0, 2) + range(reached) } ?? "not reached",
                    entry.medianSteps.map { Report.format($0, 0) } ?? "–",
                    Report.format(1000 * entry.secondsPerStep, 1),
                    standings.ratio(entry).map { Report.format($0, 2) } ?? "–",
                    String(format: "%.3g", h.learningRate), h.damping.map { String(format: "%.3g", $0) } ?? "–",
                    h.inverseInterval.map { "\($0)" } ?? "–",
                ]
            })
        Swift.print("\nscore: the area under each performance profile over τ ∈ [1, 4], divided by 3")
        Report.printTable(
            header: ["optimizer", "score", "workloads reached"],
            rows: standings.entrants.map { entrant in
                let reached = standings.entries.filter { $0.entrant == entrant && $0.medianSeconds != nil }.count
                return [entrant.rawValue, Report.format(standings.score(entrant), 3), "\(reached)/\(standings.workloads.count)"]
            }.sorted { $0[1] > $1[1] })
    }

    /// Every draw scored alone: its hyper-parameters, its ratio on each workload, its score.
    static func printDraws(_ draws: [RaceStandings.DrawScore], workloads: [RaceWorkload]) {
        Swift.print("\neach draw alone, as one configuration for every workload (ratio to the fastest of all trials)")
        Report.printTable(
            header: ["optimizer", "draw", "lr", "λ", "k"] + workloads.map(\.rawValue) + ["score"],
            rows: draws.map { draw in
                let h = draw.hyperparameters
                return [
                    draw.entrant.rawValue, "\(draw.draw)", String(format: "%.3g", h.learningRate),
                    h.damping.map { String(format: "%.3g", $0) } ?? "–", h.inverseInterval.map { "\($0)" } ?? "–",
                ] + draw.ratios.map { $0.map { Report.format($0, 2) } ?? "–" } + [Report.format(draw.score, 3)]
            })
    }

    static func range(_ values: [Double]) -> String {
        guard values.count > 1, let low = values.min(), let high = values.max() else { return "" }
        return " [\(Report.format(low, 2))–\(Report.format(high, 2))]"
    }

    /// One row per workload and optimizer.
    static func writeSummaryCSV(_ standings: RaceStandings, to path: String) throws {
        var lines = ["track,workload,optimizer,seeds,reached,median_seconds,median_steps,seconds_per_step,ratio,score,learning_rate,damping,inverse_interval"]
        for entry in standings.entries {
            let h = entry.trials[0].hyperparameters
            let fields: [String] = [
                standings.track.rawValue, entry.workload.rawValue, entry.entrant.rawValue, "\(entry.trials.count)",
                "\(entry.seconds.compactMap { $0 }.count)", entry.medianSeconds.map { "\($0)" } ?? "",
                entry.medianSteps.map { "\($0)" } ?? "", "\(entry.secondsPerStep)", standings.ratio(entry).map { "\($0)" } ?? "",
                "\(standings.score(entry.entrant))", "\(h.learningRate)", h.damping.map { "\($0)" } ?? "",
                h.inverseInterval.map { "\($0)" } ?? "",
            ]
            lines.append(fields.joined(separator: ","))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// τ, then ρ(τ) of every optimizer.
    static func writeProfileCSV(_ standings: RaceStandings, to path: String) throws {
        let profiles = standings.entrants.map(standings.profile)
        var lines = [(["tau"] + standings.entrants.map(\.rawValue)).joined(separator: ",")]
        for (i, tau) in RaceStandings.taus.enumerated() {
            lines.append(([Report.format(tau, 2)] + profiles.map { "\($0[i])" }).joined(separator: ","))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The profiles as step lines, ρ against τ, with each optimizer's score in the legend.
    static func writeProfileSVG(_ standings: RaceStandings, to path: String) throws {
        let colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
        let (width, height, margin, legend) = (480.0, 300.0, 50.0, 170.0)
        func x(_ tau: Double) -> Double { margin + width * (tau - 1) / 3 }
        func y(_ rho: Double) -> Double { margin + height * (1 - rho) }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width + 2 * margin + legend))" height="\(Int(height + 2 * margin))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <rect x="\(margin)" y="\(margin)" width="\(width)" height="\(height)" fill="none" stroke="#999"/>
        <text x="\(margin)" y="\(margin - 15)">\(standings.track.rawValue) track: fraction of workloads reached within τ × the fastest</text>
        <text x="\(margin + width / 2)" y="\(margin + height + 35)" text-anchor="middle">τ</text>

        """
        for tick in 0...4 {
            let rho = Double(tick) / 4
            svg += "<text x=\"\(margin - 5)\" y=\"\(y(rho) + 4)\" text-anchor=\"end\">\(Report.format(rho, 2))</text>\n"
        }
        for tau in [1.0, 1.5, 2, 2.5, 3, 3.5, 4] {
            svg += "<text x=\"\(x(tau))\" y=\"\(margin + height + 15)\" text-anchor=\"middle\">\(Report.format(tau, 1))</text>\n"
        }
        for (index, entrant) in standings.entrants.enumerated() {
            let colour = colours[index % colours.count]
            let rho = standings.profile(entrant)
            var points: [String] = []
            // A step line: a corner where ρ changes, and the ends.
            for (i, tau) in RaceStandings.taus.enumerated() where i == 0 || i == rho.count - 1 || rho[i] != rho[i - 1] {
                if i > 0 { points.append("\(x(tau)),\(y(rho[i - 1]))") }
                points.append("\(x(tau)),\(y(rho[i]))")
            }
            // Lines that coincide stay visible: each is drawn a pixel lower than the one before.
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" transform=\"translate(0,\(index))\" points=\"\(points.joined(separator: " "))\"/>\n"
            let top = margin + 10 + Double(index) * 20
            svg += "<line x1=\"\(margin + width + 15)\" y1=\"\(top)\" x2=\"\(margin + width + 35)\" y2=\"\(top)\" stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(margin + width + 40)\" y=\"\(top + 4)\" fill=\"\(colour)\">\(entrant.rawValue) \(Report.format(standings.score(entrant), 3))</text>\n"
        }
        svg += "</svg>\n"
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
