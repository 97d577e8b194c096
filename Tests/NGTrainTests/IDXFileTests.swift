import CZlib
import Foundation
import NGPlus
import NGTrain
import Testing

@Suite final class IDXFileTests {
    /// A fresh folder for each test, removed after it.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("idx-tests-\(UUID())")

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// An IDX header for unsigned bytes with `dimensions`, then `values`.
    func idx(_ dimensions: [Int], _ values: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return bytes + values
    }

    func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) -> String {
        let path = folder.appendingPathComponent(name).path
        if gzip {
            let file = gzopen(path, "wb")!
            _ = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
            gzclose(file)
        } else {
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        }
        return path
    }

    @Test func readsRawAndGzipFilesWithTheirDimensions() throws {
        let images = idx([2, 2, 3], Array(0..<12))
        for gzip in [false, true] {
            let file = try IDXFile(path: write("images\(gzip ? ".gz" : "")", images, gzip: gzip))
            #expect(file.dimensions == [2, 2, 3])
            #expect(file.values == Array(0..<12))
        }
        let labels = write("labels", idx([2], [7, 1]))
        let data = try Dataset(imagesPath: write("images2", images), labelsPath: labels)
        #expect(data.count == 2 && data.height == 2 && data.width == 3 && data.labels == [7, 1])
        #expect(data.images[1, 5] == Float(11) / 255)
    }

    @Test func badFilesThrowErrorsThatNameTheProblem() throws {
        func reason(_ bytes: [UInt8], gzip: Bool = false) -> String {
            let path = write("bad-\(UUID())\(gzip ? ".gz" : "")", bytes, gzip: gzip)
            do {
                _ = try IDXFile(path: path)
                return "no error"
            } catch {
                guard case let .corruptData(_, errorPath, reason) = error, errorPath == path else { return "\(error)" }
                return reason
            }
        }
        #expect(reason(Array(idx([2, 3], Array(0..<6)).dropLast())).contains("truncated"))
        #expect(reason(idx([2, 3], Array(0..<7))).contains("trailing"))
        #expect(reason([1, 0, 8, 1, 0, 0, 0, 1, 5]).contains("magic"))
        #expect(reason([0, 0, 0x0D, 1, 0, 0, 0, 1, 5]).contains("element type"))
        #expect(reason([0, 0, 8, 9]).contains("dimensions"))
        #expect(reason([0, 0, 8]).contains("shorter"))
        #expect(reason(Array(idx([4], [1, 2, 3, 4]).prefix(6))).contains("header"))
        // A gzip stream cut in the middle.
        let path = write("cut.gz", idx([1000], Array(repeating: 7, count: 1000)), gzip: true)
        let compressed = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = write("cut2.gz", Array(compressed.prefix(compressed.count / 2)))
        #expect(throws: DataError.self) { try IDXFile(path: cut) }
        #expect(throws: DataError.self) { try IDXFile(path: folder.appendingPathComponent("missing").path) }
        // Labels that do not match the images.
        let images = write("i", idx([2, 2, 2], Array(0..<8)))
        let labels = write("l", idx([3], [0, 1, 2]))
        #expect(throws: DataError.self) { try Dataset(imagesPath: images, labelsPath: labels) }
        let badLabel = write("l2", idx([2], [0, 12]))
        #expect(throws: DataError.self) { try Dataset(imagesPath: images, labelsPath: badLabel) }
    }

    /// A gzip stream whose 8-byte trailer (CRC-32 and length) is missing or wrong is refused:
    /// the data's integrity is checked, not assumed.
    @Test func aGzipStreamWithoutItsTrailerIsRefused() throws {
        let path = write("whole.gz", idx([1000], (0..<1000).map { UInt8($0 % 251) }), gzip: true)
        #expect(try IDXFile(path: path).values.count == 1000)
        let compressed = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let noTrailer = write("no-trailer.gz", Array(compressed.dropLast(8)))
        #expect(throws: DataError.self) { try IDXFile(path: noTrailer) }
        var badCRC = compressed
        badCRC[badCRC.count - 6] ^= 0xFF
        #expect(throws: DataError.self) { try IDXFile(path: write("bad-crc.gz", badCRC)) }
    }

    /// A header that asks for more values than the reader accepts is refused from the header
    /// alone: a small gzip file that declares 2³¹ values and holds many zeros is not inflated.
    @Test func anAbsurdHeaderIsRefusedBeforeTheDataIsRead() throws {
        let header: [UInt8] = [0, 0, 8, 3, 0, 0x80, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0]  // 8,388,608 × 256 × 256
        let path = write("bomb.gz", header + [UInt8](repeating: 0, count: 1 << 20), gzip: true)
        let error = #expect(throws: DataError.self) { try IDXFile(path: path) }
        guard case let .corruptData(_, _, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(reason.contains("more than"), "\(reason)")
    }

    /// A plain file much larger than its header declares (sparse: no disk is used) is refused
    /// as having trailing bytes after reading the header and one byte more than it declares —
    /// not read whole (the whole-file reader raised peak memory by 2 GiB at 1 GiB, and at
    /// 64 GiB failed with a misleading `fileError`).
    @Test(arguments: [Int64(1) << 30, Int64(1) << 36])
    func aHugeFileWithASmallHeaderIsRefusedWithoutReadingIt(size: Int64) throws {
        let path = write("huge-\(size)", idx([100], Array(repeating: 3, count: 100)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: DataError.self) { try IDXFile(path: path) }
        guard case let .corruptData(_, _, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(reason.contains("trailing bytes"), "\(reason)")
    }
}
