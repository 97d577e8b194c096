import NGKernels
import NGTrain
import Testing

/// SchNet's pair loops split their molecules over the cores; each molecule's values are made
/// the same way on any thread, so one thread and two give the same bits.
@Suite struct PairLoopThreadTests {
    @Test func pairLoopsGiveTheSameBitsOnOneThreadAndTwo() {
        let (molecules, atoms, centers, width) = (9, 13, 25, 64)
        let (pairs, rows) = (molecules * atoms * (atoms - 1), molecules * atoms)
        var generator = SeededGenerator(seed: 77)
        let positions = (0..<(rows * 4)).map { _ in Float.random(in: 0...3, using: &generator) }
        let h = (0..<(rows * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        let dm = (0..<(rows * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        let filters = (0..<(pairs * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        var results: [[[Float]]] = []
        for threads in [1, 2] {
            ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
            var (basis, envelope) = ([Float](repeating: .nan, count: pairs * centers), [Float](repeating: .nan, count: pairs))
            NetworkKernels.pairBasis(
                positions, molecules: molecules, atoms: atoms, centers: centers, cutoff: 2.5, gamma: 20,
                into: &basis, envelope: &envelope)
            var messages = [Float](repeating: .nan, count: rows * width)
            NetworkKernels.filterConvolution(
                h, filters: filters, envelope: envelope, molecules: molecules, atoms: atoms, width: width, into: &messages)
            var (dh, dw) = ([Float](repeating: .nan, count: rows * width), [Float](repeating: .nan, count: pairs * width))
            NetworkKernels.filterConvolutionBackward(
                h, filters: filters, envelope: envelope, outputGradient: dm, molecules: molecules, atoms: atoms,
                width: width, into: &dh, filterGradient: &dw)
            results.append([basis, envelope, messages, dh, dw])
        }
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        for (name, (one, two)) in zip(["basis", "envelope", "messages", "dh", "dw"], zip(results[0], results[1])) {
            #expect(one.allSatisfy { !$0.isNaN }, "\(name) not all written")
            #expect(one.map(\.bitPattern) == two.map(\.bitPattern), "\(name)")
        }
        #expect(results[0][1].contains(0) && results[0][1].contains { $0 > 0 })
    }
}
