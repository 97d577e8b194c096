import Foundation
import Testing

/// `ngbench train --model transformer` end to end on Debian's fortunes, tiny: every optimizer
/// trains, the table, AdamW's summary, the CSV and the chart are written; a size below 1 is refused by name.
@Suite struct TrainTransformerTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/games/fortunes"),
                   "the fortunes package is not installed (scripts/bootstrap installs it)"))
    func everyOptimizerTrainsATinyLanguageModel() throws {
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("lm-\(getpid()).csv").path
        let plot = FileManager.default.temporaryDirectory.appendingPathComponent("lm-\(getpid()).svg").path
        defer {
            try? FileManager.default.removeItem(atPath: csv)
            try? FileManager.default.removeItem(atPath: plot)
        }
        let run = try runNGBench([
            "train", "--model", "transformer", "--compare", "--epochs", "2", "--steps-per-epoch", "1", "--blocks", "1",
            "--width", "16", "--heads", "2", "--context", "16", "--sequences", "2", "--threads", "1", "--csv", csv,
            "--plot", plot, "--ngplus-base", "adam",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        for name in ["ngplus-adam", "sgd", "adam", "kfac", "muon", "shampoo"] {
            #expect(run.stdout.split(separator: "\n").contains { $0.hasPrefix(name + " ") && $0.contains(" 2 ") }, "\(run.stdout)")
        }
        #expect(run.stdout.contains("AdamW's final validation:"), "\(run.stdout)")
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "optimizer,seed,epoch,train_loss_nats,validation_bits_per_byte,tokens_per_second,seconds")
        #expect(lines.count == 13 && lines.dropFirst().allSatisfy { $0.split(separator: ",").count == 7 }, "\(lines)")
        // Two panels (seconds, epochs), a line per optimizer in each.
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        #expect(svg.contains("validation bits per byte"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 12)
        #expect(svg.contains(">ngplus-adam</text>"))
    }

    @Test func aSizeBelowOneIsRefusedByName() throws {
        let run = try runNGBench(["train", "--model", "transformer", "--heads", "0"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--heads must be at least 1, got 0"), "\(run.stderr)")
    }
}
