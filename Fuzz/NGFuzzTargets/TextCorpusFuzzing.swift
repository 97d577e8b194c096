import Foundation
import NGPlus
import NGTrain

/// Hostile fortune folders. The first byte of an input says into how many files (1 to 3) the
/// rest is cut, in equal parts, written to a folder of this process's that `TextCorpus` then
/// reads. What must hold: a folder either throws a typed error or gives a corpus with both
/// parts, every tenth fortune held out, valid UTF-8 text without a NUL byte, each part ending
/// with a separator line — and windows of it cut where they fit and refused where they do not.
enum TextCorpusFuzzing {
    static let folder = FuzzTarget.scratchFolder("text")

    static func run(_ input: [UInt8]) -> Bool {
        guard let selector = input.first else { return false }
        let body = Array(input.dropFirst())
        let files = 1 + Int(selector % 3)
        _ = mkdir(folder.path, 0o700)
        let part = (body.count + files - 1) / Swift.max(files, 1)
        for f in 0..<3 {
            let path = folder.appendingPathComponent("fortunes-\(f)").path
            guard f < files else {
                unlink(path)
                continue
            }
            let start = Swift.min(f * part, body.count)
            IDXFuzzing.write(Array(body[start..<Swift.min(start + part, body.count)]), to: path)
        }
        let corpus: TextCorpus
        do {
            corpus = try TextCorpus.fortunes(directory: folder.path)
        } catch {
            return false
        }
        check(corpus)
        return true
    }

    /// The promises of a corpus that loaded.
    static func check(_ corpus: TextCorpus) {
        let total = corpus.trainingFortunes + corpus.validationFortunes
        guard corpus.trainingFortunes >= 1, corpus.validationFortunes >= 1,
              corpus.validationFortunes == total / TextCorpus.validationEvery
        else { fatalError("fortunes: \(corpus.trainingFortunes) training, \(corpus.validationFortunes) validation") }
        for (name, text) in [("training", corpus.training), ("validation", corpus.validation)] {
            guard !text.contains(0), String(validating: text, as: UTF8.self) != nil, text.suffix(2) == [37, 10] else {
                fatalError("the \(name) text is not separated UTF-8 text")
            }
        }
        // Windows: every one that fits is cut, the first that does not is refused.
        let text = corpus.validation
        let length = Swift.min(8, text.count - 1)
        var x = Matrix<Float>(rows: 0, columns: 0)
        var labels: [Int] = []
        do {
            try TextCorpus.tokenWindows(text, starts: [0, text.count - length - 1], length: length, into: &x, labels: &labels)
        } catch {
            fatalError("windows that fit were refused: \(error)")
        }
        guard labels.count == 2 * length, labels.last == Int(text[text.count - 1]) else {
            fatalError("windows cut wrongly")
        }
        let before = x.elements
        if (try? TextCorpus.tokenWindows(text, starts: [text.count - length], length: length, into: &x, labels: &labels)) != nil {
            fatalError("a window past the end was cut")
        }
        guard x.elements == before else { fatalError("a refused window changed the buffers") }
    }

    /// Folders that load: eleven fortunes in one file, and in two files with a `%` line last.
    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let fortunes = (1...11).map { "Fortune number \($0):\nsaid twice, meant once.\n%\n" }.joined()
        let two = (1...12).map { "Ünïcode fortune \($0)\n%\n" }.joined()
        return [("one-file", [0] + Array(fortunes.utf8)), ("two-files", [1] + Array(two.utf8))]
    }
}
