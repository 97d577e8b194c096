import Foundation
import NGPlus

/// English text for the sequence workloads, byte-level: every byte is a token (a vocabulary of
/// 256, no tokenizer to train or ship), split deterministically into training and validation
/// text. The real corpus is Debian's `fortunes` (about 2.6 MB of fortune cookies that nobody
/// here wrote; `scripts/bootstrap` installs it): every fortune file of the directory in name
/// order, each cut into its fortunes at the lines that hold only `%`, and every tenth fortune
/// (counted over all files) held out for validation.
public struct TextCorpus: Sendable, Equatable {
    /// Tokens: the 256 byte values.
    public static let vocabulary = 256
    /// Where Debian's `fortunes` package puts its files.
    public static let fortunesDirectory = "/usr/share/games/fortunes"

    /// The training text: its fortunes, each followed by its separator line `%\n`.
    public let training: [UInt8]
    /// The validation text, in the same form.
    public let validation: [UInt8]
    /// The fortunes in each.
    public let trainingFortunes: Int
    public let validationFortunes: Int

    /// Every tenth fortune is validation text.
    public static let validationEvery = 10

    /// The fortune files of `directory`: its regular files without an extension (the `.dat`
    /// indices and the `.u8` links left out), in name order; every tenth fortune is validation
    /// text.
    /// - Throws: `DataError.fileError` when the directory or a file cannot be read;
    ///   `corruptData` for a file that is not text (a NUL byte, or not UTF-8) and when the
    ///   directory holds no fortune or either part would be empty.
    public static func fortunes(directory: String = fortunesDirectory) throws(DataError) -> TextCorpus {
        let operation = NGError.Operation.textCorpus
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw .fileError(operation: operation, path: directory, reason: "cannot be listed: \(error.localizedDescription)")
        }
        var training: [UInt8] = []
        var validation: [UInt8] = []
        var (count, held) = (0, 0)
        for name in names where !name.contains(".") {
            let path = directory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            for fortune in try fortuneTexts(path: path) {
                count += 1
                if count % validationEvery == 0 {
                    validation += fortune
                    validation += separator
                    held += 1
                } else {
                    training += fortune
                    training += separator
                }
            }
        }
        guard held > 0, count > held else {
            throw .corruptData(
                operation: operation, path: directory,
                reason: "holds \(count) fortunes: too few for a training and a validation part (every \(validationEvery)th held out)")
        }
        return TextCorpus(training: training, validation: validation, trainingFortunes: count - held, validationFortunes: held)
    }

    /// A fortune's separator line.
    static let separator = Array("%\n".utf8)

    /// The fortunes of one file: its text cut at lines holding only `%` (empty ones dropped).
    static func fortuneTexts(path: String) throws(DataError) -> [ArraySlice<UInt8>] {
        let operation = NGError.Operation.textCorpus
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .fileError(operation: operation, path: path, reason: "cannot be read: \(error.localizedDescription)")
        }
        if let nul = bytes.firstIndex(of: 0) {
            throw .corruptData(operation: operation, path: path, reason: "holds a NUL byte at offset \(nul): not a text file")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw .corruptData(operation: operation, path: path, reason: "is not UTF-8 text")
        }
        var fortunes: [ArraySlice<UInt8>] = []
        var start = 0
        var lineStart = 0
        for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
            // The line lineStart..<i: a separator when it is exactly "%".
            if i - lineStart == 1 && bytes[lineStart] == UInt8(ascii: "%") {
                if lineStart > start { fortunes.append(bytes[start..<lineStart]) }
                start = i + 1
            }
            lineStart = i + 1
        }
        if start < bytes.count, !(bytes.count - start == 1 && bytes[start] == UInt8(ascii: "%")) {
            fortunes.append(bytes[start...])
        }
        return fortunes
    }

    /// A batch of windows of `text` for a byte-level language model: window w starts at
    /// `starts[w]`; its `length` tokens become rows `w·length…` of `inputs` (one column: the
    /// byte's token id, as `TokenEmbedding` reads it) and `labels` the byte after each (the
    /// next-token targets). Reuses the buffers when they have the right size.
    /// - Throws: `invalidArgument` when `length` is below 1 or a window does not have
    ///   `length + 1` bytes of `text` from its start; the buffers are then as they were.
    public static func tokenWindows<Scalar: BLASScalar, Starts: Collection<Int>>(
        _ text: [UInt8], starts: Starts, length: Int, into inputs: inout Matrix<Scalar>, labels: inout [Int]
    ) throws(NGError) {
        try NGError.Operation.textCorpus.require(length >= 1, "length", "must be at least 1, got \(length)")
        for (w, start) in starts.enumerated() where start < 0 || start >= text.count - length {
            throw .invalidArgument(
                operation: .textCorpus, argument: "starts",
                reason: "window \(w) starts at \(start): a window needs \(length + 1) bytes of the text's \(text.count)")
        }
        let rows = starts.count * length
        if inputs.rows != rows || inputs.columns != 1 { inputs = Matrix(rows: rows, columns: 1) }
        if labels.count != rows { labels = Array(repeating: 0, count: rows) }
        inputs.withUnsafeMutableBufferPointer { x in
            for (w, start) in starts.enumerated() {
                for t in 0..<length {
                    let row = w * length + t
                    x[row] = Scalar(text[start + t])
                    labels[row] = Int(text[start + t + 1])
                }
            }
        }
    }
}
