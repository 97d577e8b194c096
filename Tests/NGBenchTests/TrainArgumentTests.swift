import Testing

/// `ngbench train` refuses an argument out of range before any work, naming its flag.
@Suite struct TrainArgumentTests {
    @Test(arguments: [
        (["--lr", "0"], "--lr must be positive, got 0.0"),
        (["--damping=-1"], "--damping must be positive, got -1.0"),
        (["--inverse-interval", "0"], "--inverse-interval must be at least 1, got 0"),
        (["--batch", "0"], "--batch must be at least 1, got 0"),
        (["--running-average", "1.5"], "--running-average must be in (0, 1], got 1.5"),
        (["--block-size", "0"], "--block-size must be at least 1, got 0"),
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--augment", "--model", "dlrm"], "--augment is for images: not for --model dlrm"),
        (["--augment", "--model", "schnet"], "--augment is for images: not for --model schnet"),
    ])
    func anArgumentOutOfRangeIsRefusedByName(arguments: [String], message: String) throws {
        let run = try runNGBench(["train", "--data", "/nonexistent"] + arguments)
        #expect(run.status != 0)
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }
}
