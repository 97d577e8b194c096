#if canImport(Glibc)
import Glibc

/// Starting this executable again: a child that runs to completion (the kernel self-check),
/// or a replacement of the current process image (the re-execution with a fitting core).
/// Linux only: the executable is `/proc/self/exe`.
package enum ChildProcess {
    /// What a child left behind.
    package struct Outcome {
        /// The exit status, nil when the child was killed by a signal or timed out.
        package var exitStatus: Int32?
        /// The signal that ended it, if any.
        package var signal: Int32?
        /// True when it ran past the time limit and was killed.
        package var timedOut: Bool
        /// Everything it wrote on stdout (the first 64 KiB).
        package var output: String
    }

    /// This process's environment with `changes` applied (nil removes a variable).
    package static func environment(applying changes: [String: String?]) -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            let line = String(cString: entry)
            let name = String(line.prefix { $0 != "=" })
            if changes[name] == nil { result.append(line) }
            pointer += 1
        }
        for (name, value) in changes.sorted(by: { $0.key < $1.key }) {
            if let value { result.append("\(name)=\(value)") }
        }
        return result
    }

    /// Runs this executable with this process's argv[0], `arguments` after it, and `environment`;, waits at most
    /// `timeLimit` seconds, and collects its stdout. Its stderr is this process's.
    package static func run(arguments: [String], environment: [String], timeLimit: Double) -> Outcome? {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { return nil }
        defer { close(pipeEnds[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])

        var pid: pid_t = 0
        let status = withCStrings([CommandLine.arguments.first ?? "/proc/self/exe"] + arguments) { argv in
            withCStrings(environment) { envp in
                posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, envp)
            }
        }
        close(pipeEnds[1])
        guard status == 0 else { return nil }

        // Read until the child closes stdout (it exits), bounded by the time limit.
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = monotonicSeconds() + timeLimit
        var timedOut = false
        while true {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { timedOut = true; break }
            var descriptor = pollfd(fd: pipeEnds[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0 && errno != EINTR { break }
            if ready <= 0 { continue }
            let count = read(pipeEnds[0], &buffer, buffer.count)
            if count <= 0 { break }
            if bytes.count < 65_536 { bytes += buffer[0..<count] }
        }
        if timedOut { kill(pid, SIGKILL) }
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) < 0 && errno == EINTR {}
        let exited = waitStatus & 0x7F == 0
        return Outcome(
            exitStatus: exited && !timedOut ? (waitStatus >> 8) & 0xFF : nil,
            signal: exited ? nil : waitStatus & 0x7F,
            timedOut: timedOut,
            output: String(decoding: bytes, as: UTF8.self))
    }

    /// Replaces this process with this executable, the same arguments (argv[0] included) and
    /// `environment`.
    /// Returns only if `execve` fails, with its errno.
    package static func replaceProcess(environment: [String]) -> Int32 {
        withCStrings(CommandLine.arguments.isEmpty ? ["/proc/self/exe"] : CommandLine.arguments) { argv in
            withCStrings(environment) { envp in
                _ = execve("/proc/self/exe", argv, envp)
                return errno
            }
        }
    }

    private static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Calls `body` with a NULL-terminated array of C strings that live for the call.
    private static func withCStrings<R>(
        _ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R
    ) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}
#endif
