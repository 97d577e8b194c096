import ArgumentParser
import Foundation
import NGPlus

/// `ngbench checkpoint-loop`: saves an NG+ state of the Fashion-MNIST MLP's layers over and over
/// (a step, a save, forever), for the test that kills it at random moments; `--saves N` stops
/// after N saves and fails if any of them threw (for the test of savers racing on one path);
/// `--verify` loads the file as the same optimizer would and says whether it could. Not listed
/// in the help.
struct CheckpointLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint-loop", abstract: "Save an NG+ state in a loop (for the crash test).",
        shouldDisplay: false)

    @Option(help: "The checkpoint file.") var path: String
    @Flag(help: "Load the file instead, and exit 0 when it loads.") var verify = false
    @Option(help: "Stop after this many saves; exit 1 if any of them failed.") var saves: Int?

    static let specs: [LayerSpec] = [
        .dense(outputs: 256, inputs: 784, bias: true), .dense(outputs: 256, inputs: 256, bias: true),
        .dense(outputs: 10, inputs: 256, bias: true),
    ]

    func run() throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(inverseInterval: 2, batchSize: 32))
        let handles = try Self.specs.map { spec throws(NGError) in try optimizer.register(spec) }
        let url = URL(fileURLWithPath: path)
        if verify {
            try optimizer.load(from: url)
            print("loaded at step \(try optimizer.stepCount(of: handles[0]))")
            return
        }
        var generator = SeededGenerator(seed: 7)
        var weights = Self.specs.map { Matrix<Float>.random(rows: $0.parameterShape.rows, columns: $0.parameterShape.columns, scale: 0.05, using: &generator) }
        var failures: [String] = []
        var saved = 0
        while saves.map({ saved < $0 }) ?? true {
            for (i, spec) in Self.specs.enumerated() {
                guard case let .dense(outputs, inputs, _) = spec else { continue }
                let x = Matrix<Float>.random(rows: 32, columns: inputs, using: &generator)
                let dy = Matrix<Float>.random(rows: 32, columns: outputs, scale: 0.01, using: &generator)
                if optimizer.usesObservation(handles[i]) { try optimizer.observe(handles[i], inputs: x, outputGradients: dy) }
                try optimizer.step(handles[i], weight: &weights[i], inputs: x, outputGradients: dy)
            }
            do {
                try optimizer.save(to: url)
            } catch {
                failures.append("save \(saved): \(error)")
            }
            saved += 1
        }
        guard failures.isEmpty else {
            FileHandle.standardError.write(Data("\(failures.count) of \(saved) saves failed\n\(failures.joined(separator: "\n"))\n".utf8))
            throw ExitCode(1)
        }
    }
}
