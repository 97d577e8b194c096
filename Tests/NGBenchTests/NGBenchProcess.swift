import Foundation

/// ngbench's stdout, stderr and exit status.
struct NGBenchRun {
    let stdout: String
    let stderr: String
    let status: Int32
}

/// Runs the ngbench built beside this test executable with `arguments`, this process's
/// environment without any kernel setting, plus `environment`.
func runNGBench(_ arguments: [String], environment: [String: String] = [:]) throws -> NGBenchRun {
    let testExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let executable = testExecutable.deletingLastPathComponent().appendingPathComponent("ngbench")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable.path])
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var base = ProcessInfo.processInfo.environment.filter {
        $0.key != "OPENBLAS_CORETYPE" && !$0.key.hasPrefix("NGPLUS_")
    }
    base.merge(environment) { $1 }
    process.environment = base
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read stderr on another thread so that neither pipe can fill and block the child.
    nonisolated(unsafe) var errorData = Data()
    let reader = Thread { errorData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while reader.isExecuting || !reader.isFinished { usleep(1000) }
    return NGBenchRun(stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: errorData, as: UTF8.self),
                      status: process.terminationStatus)
}
