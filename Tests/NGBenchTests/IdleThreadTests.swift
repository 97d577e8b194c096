import Foundation
import Testing

/// `ngbench train` has OpenBLAS's idle threads sleep after 2⁴ cycles, read back from OpenBLAS
/// itself; a user's `OPENBLAS_THREAD_TIMEOUT` stands.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/games/fortunes"),
                "the fortunes package is not installed (scripts/bootstrap installs it)"))
struct IdleThreadTests {
    static let tinyRun = [
        "train", "--model", "transformer", "--optimizer", "sgd", "--epochs", "1", "--steps-per-epoch", "1",
        "--blocks", "1", "--width", "8", "--heads", "1", "--context", "8", "--sequences", "1",
    ]

    @Test func trainingSetsTheIdleTimeout() throws {
        let run = try runNGBench(Self.tinyRun)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("OpenBLAS idle threads sleep after 2^4 cycles (set by ngbench train"), "\(run.stdout)")
    }

    @Test func theUsersTimeoutStands() throws {
        let run = try runNGBench(Self.tinyRun, environment: ["OPENBLAS_THREAD_TIMEOUT": "6"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("OpenBLAS idle threads sleep after 2^6 cycles (OPENBLAS_THREAD_TIMEOUT"), "\(run.stdout)")
    }
}
