import Foundation
import Testing

/// `ngbench step`: one dense layer's step for every optimizer, at a layer with more outputs
/// than a block of 1,024 (where K-FAC's output factor once failed its first refresh, and with
/// it the suite's 512 → 2048 rows): the command's plumbing, never its speed.
@Suite struct StepCommandTests {
    @Test func everyOptimizerStepsALayerWiderThanABlock() throws {
        let run = try runNGBench(["step", "--quick", "--m", "1030", "--n", "3", "--batch", "2", "--k", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("dense 3→1030"), "\(run.stdout)")
    }
}
