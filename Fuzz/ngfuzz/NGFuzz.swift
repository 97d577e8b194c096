import Foundation
import NGFuzzTargets

#if FUZZING
/// libFuzzer's driver, from the fuzzer runtime that `-sanitize=fuzzer` links. SwiftPM makes an
/// executable's `main` its own entry point, so the driver is called from there rather than
/// from libFuzzer's `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// Under the fuzzer (built by `scripts/fuzz` with `-sanitize=fuzzer,address -D FUZZING`):
/// libFuzzer's command line, each input to the target named by the environment variable
/// `NGFUZZ_TARGET`.
@main
struct NGFuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        _ = selectedTarget
        atexit { FuzzTarget.removeScratchFiles() }
        exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
    }
}

/// One input to the selected target. Named as libFuzzer's own `main` expects, since the
/// fuzzer runtime is linked whole.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = selectedTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// The target `NGFUZZ_TARGET` names, read once.
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["NGFUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        fatalError("NGFUZZ_TARGET must name a target (\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))), got '\(name)'")
    }
    return target
}()
#else
/// Without the fuzzer: replays files through a target (a crash found by a fuzzing run, or the
/// corpus), or writes the seed corpus.
///
///     ngfuzz TARGET FILE...
///     ngfuzz TARGET --write-seeds FOLDER
@main
struct NGFuzzReplay {
    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(Data("usage: ngfuzz \(names) FILE... | --write-seeds FOLDER\n".utf8))
            exit(2)
        }
        if arguments.count == 3, arguments[1] == "--write-seeds" {
            let folder = URL(fileURLWithPath: arguments[2])
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for seed in try target.seeds() {
                try Data(seed.bytes).write(to: folder.appendingPathComponent(seed.name))
            }
            return
        }
        for path in arguments.dropFirst() {
            let accepted = target.run(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            print("\(path): \(accepted ? "accepted" : "rejected with a typed error")")
        }
        FuzzTarget.removeScratchFiles()
    }
}
#endif
