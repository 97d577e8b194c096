import Foundation

/// The readable tables ngbench prints on stdout.
enum Report {
    static func printMachine(_ machine: MachinePeak) {
        print("OpenBLAS core \(machine.coreName), \(machine.threads) thread(s)")
        for (size, gflops) in machine.sgemm { print("  sgemm n=\(size): \(format(gflops, 1)) GFLOP/s") }
        for (size, gflops) in machine.dgemm { print("  dgemm n=\(size): \(format(gflops, 1)) GFLOP/s") }
        print("  peak (best sgemm): \(format(machine.sgemmPeak, 1)) GFLOP/s")
        print()
    }

    static func printKernels(_ figures: [KernelFigure]) {
        let header = ["kernel", "m", "n", "batch", "median ms", "min ms", "p90 ms", "GFLOP/s", "of peak"]
        let rows = figures.map { f in
            [f.kernel, "\(f.m)", "\(f.n)", "\(f.batch)", format(f.stats.median, 3), format(f.stats.minimum, 3),
             format(f.stats.p90, 3), format(f.gflops, 1), format(100 * f.fractionOfPeak, 0) + "%"]
        }
        printTable(header: header, rows: rows)
    }

    static func printSteps(_ figures: [StepFigure]) {
        let header = ["layer", "m", "n", "batch", "k", "form", "SGD ms", "NG+ ms", "NG+/SGD", "bound", "ratio/bound"]
        let rows = figures.map { f in
            [f.layer, "\(f.m)", "\(f.n)", "\(f.batch)", "\(f.k)", f.form, format(f.sgdMilliseconds, 3),
             format(f.ngplusMilliseconds, 3), format(f.ratio, 2), format(f.bound, 2), format(f.ratio / f.bound, 2)]
        }
        printTable(header: header, rows: rows)
    }

    static func printTable(header: [String], rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for (index, row) in all.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            print(cells.joined(separator: "  "))
            if index == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
