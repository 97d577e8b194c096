import Foundation
import Testing

/// `ngbench train --seeds` on a small generated data set in the MNIST layout: every seed runs,
/// the CSV has a row per optimizer, seed and epoch, and the summary counts the runs.
@Suite struct TrainSeedsTests {
    /// An IDX file of unsigned bytes.
    func idx(_ dimensions: [Int], _ values: [UInt8]) -> Data {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return Data(bytes + values)
    }

    @Test func everySeedRunsAndTheSummaryCountsThem() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ngbench-seeds-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // 64 training and 32 test images of 28×28 whose label is written in their brightness.
        for (prefix, count) in [("train", 64), ("t10k", 32)] {
            let labels = (0..<count).map { UInt8($0 % 10) }
            let pixels = labels.flatMap { label in [UInt8](repeating: label * 25, count: 784) }
            try idx([count, 28, 28], pixels).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try idx([count], labels).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        let csv = folder.appendingPathComponent("runs.csv").path
        let run = try runNGBench([
            "train", "--model", "mlp", "--optimizer", "sgd", "--epochs", "2", "--batch", "16", "--seeds", "3",
            "--seed", "7", "--target", "0.05", "--data", folder.path, "--csv", csv,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "optimizer,seed,epoch,train_loss,test_accuracy,seconds")
        #expect(lines.count == 1 + 3 * 2)
        #expect(Set(lines.dropFirst().map { $0.split(separator: ",")[1] }) == ["7", "8", "9"])
        #expect(run.stdout.contains("summary over seeds (target 5.0% test accuracy)"))
        #expect(run.stdout.contains("3 of 3"), "every seed reaches 5%: \(run.stdout)")

        let bad = try runNGBench(["train", "--seeds", "0", "--data", folder.path])
        #expect(bad.status != 0 && bad.stderr.contains("--seeds must be in 1...1000, got 0"))
    }
}
