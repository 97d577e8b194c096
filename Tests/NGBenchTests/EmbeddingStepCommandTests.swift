import Foundation
import Testing

/// `ngbench embedding`: the sparse step of every optimizer at two vocabulary sizes, its table,
/// its target and its JSON rows (small sizes: the command's plumbing, never its speed).
@Suite struct EmbeddingStepCommandTests {
    @Test func embeddingStepsPrintEveryOptimizerAtEverySize() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ngbench-embedding-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try runNGBench([
            "embedding", "--quick", "--vocabularies", "512", "4096", "--width", "16", "--lookups", "256", "--ids", "300",
            "--json", path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("embedding table steps: width 16, 256 lookups"))
        #expect(run.stdout.contains("embedding step cost independent of the vocabulary: 4096 rows vs 512"))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let rows = try #require((object as? [String: Any])?["embedding_steps"] as? [[String: Any]])
        #expect(rows.map { $0["vocabulary"] as? Int } == [512, 4096])
        for row in rows {
            for field in ["sgd_ms", "adam_ms", "kfac_ms", "ngplus_ms"] { #expect((row[field] as? Double ?? 0) > 0, "\(field)") }
            #expect((row["rows"] as? Int ?? 0) <= 256)
        }
    }

    @Test func badSizesAreRefused() throws {
        let run = try runNGBench(["embedding", "--vocabularies", "0"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--vocabularies must be in 1...2²⁴, got 0"))
    }
}
