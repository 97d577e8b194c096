import Foundation

/// ngbench's stdout, stderr and exit status.
struct NGBenchRun {
    let stdout: String
    let stderr: String
    let status: Int32
}

/// The ngbench built beside this test executable, set up with `arguments`, this process's
/// environment without any kernel setting, plus `environment`; not started.
func ngbenchProcess(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
    let testExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let executable = testExecutable.deletingLastPathComponent().appendingPathComponent("ngbench")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable.path])
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var base = ProcessInfo.processInfo.environment.filter {
        $0.key != "OPENBLAS_CORETYPE" && $0.key != "OPENBLAS_THREAD_TIMEOUT" && !$0.key.hasPrefix("NGPLUS_")
    }
    base.merge(environment) { $1 }
    process.environment = base
    return process
}

/// ngbench started with `arguments`, its output discarded; the caller waits for it.
func startNGBench(_ arguments: [String]) throws -> Process {
    let process = try ngbenchProcess(arguments)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}

/// Runs ngbench with `arguments` (see `ngbenchProcess`) to its end.
func runNGBench(_ arguments: [String], environment: [String: String] = [:]) throws -> NGBenchRun {
    let process = try ngbenchProcess(arguments, environment: environment)
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
