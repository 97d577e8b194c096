import Testing

/// `ngbench train --model dlrm` generates its click log, trains on a slice of it and prints
/// each run's log-loss, its excess over the teacher's and its AUC.
@Suite struct TrainDLRMTests {
    @Test func theRecommenderTrainsAndReportsItsClickMetrics() throws {
        let run = try runNGBench([
            "train", "--model", "dlrm", "--optimizer", "ngplus", "--epochs", "1", "--train-limit", "2048", "--seeds", "2",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("click log: 300000 training and 20000 test rows"), "\(run.stdout)")
        #expect(run.stdout.contains("test log-loss  excess over the best     AUC"), "\(run.stdout)")
        #expect(run.stdout.split(separator: "\n").filter { $0.hasPrefix("ngplus ") && $0.contains(" 0.") }.count >= 2)
        #expect(run.stdout.contains("embedding bag 100000×16"))
    }
}
