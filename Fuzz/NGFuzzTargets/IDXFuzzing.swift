import CZlib
import Foundation
import NGTrain

/// Hostile IDX files. The first byte of an input picks how the rest reaches `IDXFile`: as a
/// plain file, compressed into a valid gzip stream (the IDX parsing behind zlib), or written
/// as it is to a `.gz` file (damaged gzip streams). What must hold: a file either throws a
/// typed error or reads as 1 to 4 dimensions whose product is the number of values read.
enum IDXFuzzing {
    static let folder = FuzzTarget.scratchFolder("idx")

    static func run(_ input: [UInt8]) -> Bool {
        guard let selector = input.first else { return false }
        let body = Array(input.dropFirst())
        // Made on demand: `FuzzTarget.removeScratchFiles` may have removed it (EEXIST is fine).
        _ = mkdir(folder.path, 0o700)
        let path: String
        switch selector % 3 {
        case 0:
            path = folder.appendingPathComponent("input.idx").path
            write(body, to: path)
        case 1:
            path = folder.appendingPathComponent("compressed.idx.gz").path
            compress(body, to: path)
        default:
            path = folder.appendingPathComponent("raw.idx.gz").path
            write(body, to: path)
        }
        guard let file = try? IDXFile(path: path) else { return false }
        guard (1...4).contains(file.dimensions.count),
              file.values.count == file.dimensions.reduce(1, *),
              file.values.count <= IDXFile.maximumValues
        else { fatalError("read \(file.values.count) values for dimensions \(file.dimensions)") }
        return true
    }

    /// Writes `bytes` with plain POSIX calls: Foundation's file writing flushes to disk, which
    /// made a fuzzing run wait on the disk for every input.
    static func write(_ bytes: [UInt8], to path: String) {
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard file >= 0 else { fatalError("cannot open \(path)") }
        defer { close(file) }
        let written = bytes.withUnsafeBytes { Glibc.write(file, $0.baseAddress, $0.count) }
        guard written == bytes.count else { fatalError("cannot write \(path)") }
    }

    /// Writes `bytes` as a gzip stream through zlib.
    static func compress(_ bytes: [UInt8], to path: String) {
        guard let file = gzopen(path, "wb") else { fatalError("zlib cannot open \(path)") }
        let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        guard gzclose(file) == Z_OK, written == bytes.count else { fatalError("zlib cannot write \(path)") }
    }

    /// A valid file of each kind the reader takes (images with three dimensions, labels with
    /// one), in each of the three modes.
    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2] + (0..<12).map { UInt8($0 * 20) }
        let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 5] + [3, 1, 4, 1, 5]
        _ = mkdir(folder.path, 0o700)
        let path = folder.appendingPathComponent("seed.idx.gz").path
        compress(images, to: path)
        let gzipped = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        return [("images-plain", [0] + images), ("labels-plain", [0] + labels),
                ("images-compressed", [1] + images), ("labels-compressed", [1] + labels),
                ("images-gzip-stream", [2] + gzipped)]
    }
}
