import Foundation

/// mpirun's combined output, exit status and wall time.
struct MPIRun {
    let output: String
    let status: Int32
    let seconds: Double
}

/// Open MPI's launcher on the PATH, or nil (then the tests that need it are skipped, saying why).
let mpirunPath: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// Runs `ngdistcheck` (built beside this test executable) as `processes` MPI processes, one
/// OpenBLAS thread each, allowed as root and on more processes than cores. A run still going
/// after `timeout` seconds is killed and reported with status -1.
func runUnderMPI(
    processes: Int, _ arguments: [String], timeout: Double = 120, environment extra: [String: String] = [:]
) throws -> MPIRun {
    let testExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let check = testExecutable.deletingLastPathComponent().appendingPathComponent("ngdistcheck")
    guard let mpirunPath, FileManager.default.isExecutableFile(atPath: check.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: check.path])
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: mpirunPath)
    process.arguments = ["--oversubscribe", "-np", "\(processes)", check.path] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_NUM_THREADS"] = "1"
    environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    environment.merge(extra) { $1 }
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let start = Date()
    try process.run()
    nonisolated(unsafe) var data = Data()
    let reader = Thread { data = pipe.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    var timedOut = false
    while process.isRunning {
        if Date().timeIntervalSince(start) > timeout {
            timedOut = true
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            break
        }
        usleep(10_000)
    }
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return MPIRun(
        output: String(decoding: data, as: UTF8.self), status: timedOut ? -1 : process.terminationStatus,
        seconds: Date().timeIntervalSince(start))
}

/// Whether this CPU runs OpenBLAS's Haswell kernels (AVX2 and FMA, as /proc/cpuinfo lists them).
let cpuHasAVX2AndFMA: Bool = {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return false }
    let set = Set(flags.split(separator: " ").map(String.init))
    return set.contains("avx2") && set.contains("fma")
}()
