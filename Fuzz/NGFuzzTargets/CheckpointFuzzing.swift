import CZlib
import NGKernels
import NGPlus

/// Hostile bytes restored into a trained optimizer. The first byte of an input picks the
/// optimizer (its low bits) and whether the rest is taken as it is or as a file body whose
/// CRC-32 trailer the harness appends (its high bit), so that the fuzzer explores the parsing
/// behind the checksum too: the crafted-but-checksummed files a loader must survive.
///
/// What must hold: a restore that throws leaves `stateBytes()` as it was; a restore that
/// succeeds gives a state that saves, restores to the same bytes, and steps without a trap.
enum CheckpointFuzzing {
    static let sealedFlag: UInt8 = 0x80

    static func run(_ input: [UInt8]) -> Bool {
        guard let selector = input.first else { return false }
        var bytes = Array(input.dropFirst())
        if selector & sealedFlag != 0 { bytes += trailer(for: bytes) }
        switch Int(selector & ~sealedFlag) % 4 {
        case 0: return check(Subjects.ngPlusFloat, bytes)
        case 1: return check(Subjects.ngPlusDoubleWoodbury, bytes)
        case 2: return check(Subjects.kfac, bytes)
        default: return check(Subjects.adam, bytes)
        }
    }

    /// The little-endian CRC-32 trailer a state file ends with, computed by zlib.
    static func trailer(for body: [UInt8]) -> [UInt8] {
        let crc = body.withUnsafeBufferPointer { UInt64(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
        return (0..<8).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) }
    }

    static func check<Optimizer: LayerOptimizer>(_ subject: Subject<Optimizer>, _ bytes: [UInt8]) -> Bool {
        var optimizer = subject.optimizer
        let before = optimizer.stateBytes()
        do {
            try optimizer.restore(stateBytes: bytes)
        } catch {
            if optimizer.stateBytes() != before { fatalError("a restore that threw (\(error)) changed the state") }
            return false
        }
        let saved = optimizer.stateBytes()
        var again = subject.optimizer
        do {
            try again.restore(stateBytes: saved)
        } catch {
            fatalError("a state that loaded does not load again after saving: \(error)")
        }
        if again.stateBytes() != saved { fatalError("a loaded state saves to other bytes the second time") }
        // The first step after a load may throw (a loaded momentum may overflow), never trap.
        var weights = subject.weights
        for (handle, weight) in zip(subject.handles, weights.indices) {
            let shape = weights[weight].shape
            _ = try? optimizer.step(
                handle, weight: &weights[weight],
                gradient: Matrix(rows: shape.rows, columns: shape.columns, repeating: 0.5))
        }
        return true
    }

    /// The seeds: each subject's state after three steps, raw and as a body to seal.
    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        func pair<O: LayerOptimizer>(_ index: UInt8, _ subject: Subject<O>) -> [(String, [UInt8])] {
            let state = subject.optimizer.stateBytes()
            return [("\(subject.name)-raw", [index] + state),
                    ("\(subject.name)-sealed", [index | sealedFlag] + state.dropLast(8))]
        }
        return pair(0, Subjects.ngPlusFloat) + pair(1, Subjects.ngPlusDoubleWoodbury)
            + pair(2, Subjects.kfac) + pair(3, Subjects.adam)
    }
}
