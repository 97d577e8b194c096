import Foundation

/// Writes a file (and reads one back) so that a reader, a crash or a concurrent writer never sees a mix of two
/// versions: the bytes go to a temporary file beside the target, which is flushed to disk and
/// renamed over the target, and then the folder is flushed.
///
/// A temporary file is named `.<target name>.<pid>.<random>.tmp`, created exclusively, and held
/// under an exclusive `flock` from before its first byte until after its rename. A save killed
/// on the way leaves its temporary file behind, unlocked (the kernel drops a dead process's
/// locks); the next save removes every temporary file of the same target that it can lock.
/// Liveness is decided by the lock, never by the process id in the name: a saver in another
/// PID namespace (a second container sharing the folder) has an id this process cannot see,
/// or the same id as a process here, and its file is still locked while it writes.
package enum AtomicFile {
    /// Writes `bytes` to `url` atomically. Temporary files of saves that no longer run are
    /// removed first.
    /// - Throws: `fileError` when `url` names a folder (a path ending in `/`, or an existing
    ///   folder), or the file
    ///   cannot be created, written or renamed; the target is then as it was.
    package static func write(_ bytes: [UInt8], to url: URL, operation: NGError.Operation) throws(OptimizerError) {
        func failure(_ reason: String) -> OptimizerError {
            .fileError(operation: operation, path: url.path, reason: reason)
        }
        guard !url.hasDirectoryPath, !url.lastPathComponent.isEmpty, url.lastPathComponent != "/" else {
            throw failure("names a folder, not a file")
        }
        let folder = url.deletingLastPathComponent()
        removeAbandonedTemporaries(of: url)
        let (descriptor, temporary) = try createLockedTemporary(for: url, failure)
        defer { close(descriptor) }
        do throws(OptimizerError) {
            let failed = writeAll(bytes, to: descriptor)
            guard failed == 0 else { throw failure("cannot be written: \(String(cString: strerror(failed)))") }
            guard fsync(descriptor) == 0 else { throw failure("cannot be flushed: \(errorText())") }
            guard rename(temporary, url.path) == 0 else { throw failure(errorText()) }
        } catch {
            unlink(temporary)
            throw error
        }
        // The rename is durable once the folder's entry is on disk.
        let directory = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// The whole of the file at `url`, for a load that parses it before it changes anything.
    /// - Throws: `fileError` when the file cannot be read.
    package static func read(from url: URL, operation: NGError.Operation) throws(OptimizerError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: url))
        } catch {
            throw .fileError(operation: operation, path: url.path, reason: "cannot be read: \(error.localizedDescription)")
        }
    }

    /// Creates a temporary file for `url` that no other process has, and holds its lock.
    /// Returns its descriptor and path.
    private static func createLockedTemporary(
        for url: URL, _ failure: (String) -> OptimizerError
    ) throws(OptimizerError) -> (Int32, String) {
        let folder = url.deletingLastPathComponent()
        let process = ProcessInfo.processInfo.processIdentifier
        var generator = SystemRandomNumberGenerator()
        while true {
            let tag = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 16)
            let path = folder.appendingPathComponent(".\(url.lastPathComponent).\(process).\(tag).tmp").path
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor < 0 {
                if errno == EEXIST { continue }
                throw failure("cannot create a temporary file beside it: \(errorText())")
            }
            // A cleaner may have found the file between its creation and this lock, locked it
            // first and removed it; it then has no name any more, and another is made.
            var status = stat()
            guard flock(descriptor, LOCK_EX) == 0, fstat(descriptor, &status) == 0 else {
                let reason = errorText()
                close(descriptor)
                unlink(path)
                throw failure("cannot lock a temporary file beside it: \(reason)")
            }
            if status.st_nlink > 0 { return (descriptor, path) }
            close(descriptor)
        }
    }

    /// Writes every byte, resuming after interrupted and partial writes. Returns 0, or the
    /// `errno` of the write that failed.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32 {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return 0
        }
    }

    /// Removes the temporary files beside `url` that no live save holds: those whose lock this
    /// process can take (a save killed between its first write and its rename).
    static func removeAbandonedTemporaries(of url: URL) {
        let folder = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent)."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let fields = name.dropFirst(prefix.count).dropLast(4).split(separator: ".")
            guard fields.count == 2, Int32(fields[0]) != nil else { continue }
            let path = folder.appendingPathComponent(name).path
            let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            // Held by nobody. Removed only if the name still means the file locked: a save that
            // renamed it away in the meantime has made it the target.
            var locked = stat()
            var named = stat()
            guard fstat(descriptor, &locked) == 0, lstat(path, &named) == 0,
                locked.st_dev == named.st_dev, locked.st_ino == named.st_ino
            else { continue }
            unlink(path)
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
