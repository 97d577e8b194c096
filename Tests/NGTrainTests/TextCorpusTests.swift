import Foundation
import NGPlus
import NGTrain
import Testing

/// The byte-level fortunes corpus: the split by hand on small generated folders, every way a
/// folder or file can be wrong, and the real Debian corpus when it is installed.
struct TextCorpusTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-tests-\(UUID())")

    /// Writes `files` (name → contents) into a fresh folder.
    func make(_ files: [String: [UInt8]]) throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, bytes) in files { try Data(bytes).write(to: folder.appendingPathComponent(name)) }
        return folder.path
    }

    @Test func elevenFortunesInTwoFilesSplitByHand() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try make([
            "b": Array("four\n%\nfive\n%\nsix\n%\nseven\n%\neight\n%\nnine\n%\nten\n%\neleven\n%\n".utf8),
            "a": Array("one\n%\ntwo\nlines\n%\n%\nthree".utf8),   // an empty fortune, no final separator
            "a.dat": [0, 1, 2, 0xff],                              // an index: skipped
        ])
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("a.u8"), withDestinationURL: folder.appendingPathComponent("a"))
        let corpus = try TextCorpus.fortunes(directory: path)
        // a before b; the 10th fortune ("ten") is the validation text.
        #expect(corpus.trainingFortunes == 10 && corpus.validationFortunes == 1)
        #expect(String(decoding: corpus.validation, as: UTF8.self) == "ten\n%\n")
        #expect(String(decoding: corpus.training, as: UTF8.self)
            == "one\n%\ntwo\nlines\n%\nthree%\nfour\n%\nfive\n%\nsix\n%\nseven\n%\neight\n%\nnine\n%\neleven\n%\n")
        #expect(TextCorpus.vocabulary == 256)
    }

    @Test func missingFolderIsAFileError() throws {
        #expect {
            try TextCorpus.fortunes(directory: folder.path)
        } throws: { error in
            guard case let .fileError(_, path, _)? = error as? DataError else { return false }
            return path == folder.path
        }
    }

    @Test(arguments: [
        ("a NUL byte", [UInt8]("one\n%\ntw".utf8) + [0] + [UInt8]("o\n".utf8), "holds a NUL byte at offset 8"),
        ("bytes that are not UTF-8", [UInt8]("one\n%\n".utf8) + [0xff, 0xfe], "is not UTF-8 text"),
    ])
    func fileThatIsNotTextIsCorrupt(_ what: String, _ bytes: [UInt8], _ reason: String) throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try make(["good": Array(String(repeating: "x\n%\n", count: 20).utf8), "bad": bytes])
        #expect {
            try TextCorpus.fortunes(directory: path)
        } throws: { error in
            guard case let .corruptData(_, file, message)? = error as? DataError else { return false }
            return file.hasSuffix("/bad") && message.contains(reason)
        }
    }

    @Test func tooFewFortunesForBothPartsAreCorrupt() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try make(["a": Array("one\n%\ntwo\n%\nthree\n".utf8), "a.dat": [1, 2, 3]])
        #expect {
            try TextCorpus.fortunes(directory: path)
        } throws: { error in
            guard case let .corruptData(_, _, message)? = error as? DataError else { return false }
            return message.contains("holds 3 fortunes")
        }
    }

    /// Debian's corpus: every fortune in one of the two parts, about a tenth held out, and the
    /// same bytes on every load.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: TextCorpus.fortunesDirectory),
                   "the fortunes package is not installed (scripts/bootstrap installs it)"))
    func debianFortunes() throws {
        let corpus = try TextCorpus.fortunes()
        let fortunes = corpus.trainingFortunes + corpus.validationFortunes
        #expect(fortunes > 1000)
        #expect(corpus.validationFortunes == fortunes / TextCorpus.validationEvery)
        #expect(corpus.training.count + corpus.validation.count > 1_000_000)
        #expect(try TextCorpus.fortunes() == corpus)
    }
}

/// `SequenceTrainer` on a small generated corpus: epochs, records, validation in bits per byte,
/// and a text shorter than one window.
struct SequenceTrainerTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sequence-tests-\(UUID())")

    func corpus(_ fortune: String, count: Int) throws -> TextCorpus {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text = (0..<count).map { "\(fortune) \($0)\n%\n" }.joined()
        try Data(text.utf8).write(to: folder.appendingPathComponent("fortunes"))
        return try TextCorpus.fortunes(directory: folder.path)
    }

    @Test func trainsAndReportsEveryEpoch() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try corpus("a stitch in time saves nine", count: 60)
        let model = try Model<Float>.transformer(sequenceLength: 8, width: 16, heads: 2, blocks: 1, seed: 1)
        var optimizer = try AdamOptimizer<Float>(settings: AdamSettings(learningRate: 1e-2))
        try model.register(with: &optimizer)
        let trainer = try SequenceTrainer(sequences: 4, length: 8, stepsPerEpoch: 15, seed: 2, validationWindows: 10)
        let before = try trainer.validationBitsPerByte(model, corpus: text)
        let records = try trainer.train(model, optimizer: &optimizer, name: "adam", corpus: text, epochs: 2)
        #expect(records.map(\.epoch) == [1, 2])
        #expect(records.allSatisfy { $0.tokensPerSecond > 0 && $0.validationBitsPerByte.isFinite })
        #expect(records[1].seconds > records[0].seconds)
        // 8 bits a byte is a uniform guess over 256 bytes; this text is learned well below it.
        #expect(before > 7 && records[1].validationBitsPerByte < before / 2, "\(before) → \(records.map(\.validationBitsPerByte))")
        // In batches of any size, the last padded with copies of its last window that do not
        // count, the validation is the same (to Float's rounding of GEMMs of other shapes);
        // counting the copies moves it by (its loss − the mean)·copies/(windows + copies).
        let reference = try trainer.validationBitsPerByte(model, corpus: text, batch: 10)
        for batch in [1, 3, 4, 7, 16] {
            let figure = try trainer.validationBitsPerByte(model, corpus: text, batch: batch)
            #expect(abs(figure - reference) <= 1e-5 * reference, "batch \(batch): \(figure) against \(reference)")
        }
        #expect(throws: NGError.self) { try trainer.validationBitsPerByte(model, corpus: text, batch: 0) }
        // `until` ends a run at the first epoch that meets it.
        let stopped = try trainer.train(model, optimizer: &optimizer, name: "adam", corpus: text, epochs: 3, until: { $0.epoch == 1 })
        #expect(stopped.map(\.epoch) == [1])
    }

    @Test func textShorterThanAWindowIsAnError() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try corpus("hi", count: 10)   // validation: one fortune of 7 bytes
        let model = try Model<Float>.transformer(sequenceLength: 16, width: 8, heads: 1, blocks: 1, seed: 1)
        var optimizer = try SGDOptimizer<Float>(settings: SGDSettings())
        try model.register(with: &optimizer)
        let trainer = try SequenceTrainer(sequences: 2, length: 16, stepsPerEpoch: 1, seed: 2)
        #expect(throws: NGError.self) { try trainer.train(model, optimizer: &optimizer, name: "sgd", corpus: text, epochs: 1) }
        #expect(throws: NGError.self) { try SequenceTrainer(sequences: 0, length: 16, stepsPerEpoch: 1, seed: 2) }
        // The validation alone, as `train` refuses it: a typed error, not a trap.
        #expect(throws: NGError.invalidArgument(
            operation: .sequenceTrainerValidation, argument: "corpus",
            reason: "its validation text has \(text.validation.count) bytes, fewer than a window of 17")) {
            try trainer.validationBitsPerByte(model, corpus: text)
        }
    }

    /// Windows that do not fit the text are refused before the buffers are touched.
    @Test func windowsOutsideTheTextAreRefusedWithTheBuffersAsTheyWere() throws {
        let text = Array("abcdefghij".utf8)
        var x = Matrix<Float>(rows: 3, columns: 1, repeating: 7)
        var labels = [1, 2, 3]
        for (starts, length) in [([0, 7], 3), ([0, -1], 3), ([7], 3), ([0], 10), ([0], 0)] {
            #expect(throws: NGError.self, "starts \(starts), length \(length)") {
                try TextCorpus.tokenWindows(text, starts: starts, length: length, into: &x, labels: &labels)
            }
            #expect(x.elements == [7, 7, 7] && labels == [1, 2, 3])
        }
        // The last window that fits: 6...9, its label the text's last byte.
        try TextCorpus.tokenWindows(text, starts: [6], length: 3, into: &x, labels: &labels)
        #expect(x.elements == [103, 104, 105] && labels == [104, 105, 106])
    }
}
