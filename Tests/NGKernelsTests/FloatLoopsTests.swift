import Foundation
import NGKernels
import NGPlatform
import NGTestSupport
import Testing

/// `FloatLoops` at every vector level this machine offers (the baseline always; AVX2 and
/// AVX-512 where present): the exponentials within `FloatMath.exp`'s 2 ulp over its whole
/// range and exact at its special values, GELU and its gradient within `GELUReference`'s
/// bounds — the levels differ only in rounding (FMA).
@Suite struct FloatLoopsTests {
    static let levels: [FloatLoops] = [VectorLevel.sse, .avx2, .avx512].compactMap { FloatLoops(level: $0) }

    @Test func theMachinesWidestLevelIsSelected() {
        let widest = CPUDescription.current.features.vectorLevel
        #expect(FloatLoops.selected.level == (widest == .avx ? .sse : widest))
        #expect(Self.levels.map(\.level).last == FloatLoops.selected.level)
    }

    @Test func aLevelTheProcessorLacksIsRefused() {
        let baseline = CPUDescription(vendor: "GenuineIntel", family: 6, model: 1, features: [.sse3])
        #expect(FloatLoops(level: .sse, on: baseline)?.level == .sse)
        #expect(FloatLoops(level: .avx2, on: baseline) == nil)
        #expect(FloatLoops(level: .avx512, on: baseline) == nil)
        let avx = CPUDescription(vendor: "GenuineIntel", family: 6, model: 1, features: [.sse3, .avx])
        #expect(FloatLoops(level: .avx, on: avx)?.level == .sse)
    }

    @Test(arguments: levels)
    func exponentialsAreWithinTwoUlpsOverTheWholeRange(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 41)
        for range: ClosedRange<Float> in [-104...(-87), -87...(-1), -1...1, 1...88.72] {
            let x = (0..<100_000).map { _ in Float.random(in: range, using: &generator) }
            var y = [Float](repeating: 0, count: x.count)
            loops.shiftedExponentials(x, into: &y, count: x.count, shift: 0)
            let worst = zip(x, y).map { FloatMathTests.ulps($1, Foundation.exp(Double($0))) }.max() ?? 0
            #expect(worst <= 2, "\(loops.level), \(range): \(worst) ulp")
        }
    }

    /// e^(x − s) is the exponential of the rounded difference, in place as out of place.
    @Test(arguments: levels)
    func shiftedExponentialsInPlace(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 42)
        for count in [1, 7, 16, 33, 1000] {
            let x = (0..<count).map { _ in Float.random(in: -30...30, using: &generator) }
            let shift = x.max()!
            var y = x
            y.withUnsafeMutableBufferPointer { y in
                loops.shiftedExponentials(y.baseAddress!, into: y.baseAddress!, count: count, shift: shift)
            }
            for (value, result) in zip(x, y) {
                #expect(FloatMathTests.ulps(result, Foundation.exp(Double(value - shift))) <= 2)
            }
            #expect(y.max() == 1)
        }
    }

    @Test(arguments: levels)
    func exponentialsAtTheSpecialValues(_ loops: FloatLoops) {
        let x: [Float] = [0, -0.0, .leastNonzeroMagnitude, -.infinity, -105, .infinity, 88.8, 1e30, .nan, -100]
        var y = [Float](repeating: 7, count: x.count)
        loops.shiftedExponentials(x, into: &y, count: x.count, shift: 0)
        #expect(Array(y[0..<8]) == [1, 1, 1, 0, 0, .infinity, .infinity, .infinity])
        #expect(y[8].isNaN)
        #expect(y[9].isSubnormal)
    }

    /// Values to ±7 and the regions where erf switches branch (|x/√2| = 1 and 4), every count
    /// from 1 to 40 (the vector loops' tails), against a Double reference.
    @Test(arguments: levels)
    func geluAndItsGradientMatchADoubleReference(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 43)
        let edges: [Float] = [Double(2).squareRoot(), 4 * Double(2).squareRoot()].flatMap { [$0, -$0] }.map(Float.init)
        var x = (0..<20_000).map { _ in Float.random(in: -7...7, using: &generator) }
        for edge in edges { x += (-50...50).map { edge + Float($0) * edge.ulp } }
        let dy = x.map { _ in Float.random(in: -1...1, using: &generator) }
        for count in Array(1...40) + [x.count] {
            var (y, cumulative, dx) = ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count),
                                       [Float](repeating: 0, count: count))
            loops.gelu(x, into: &y, cumulative: &cumulative, count: count)
            loops.geluBackward(input: x, cumulative: cumulative, outputGradient: dy, into: &dx, count: count)
            let worst = GELUReference.worst(
                x: Array(x[0..<count]), outputGradient: Array(dy[0..<count]), y: y, dx: dx)
            #expect(worst.forward <= 1, "\(loops.level), \(count) values")
            #expect(worst.backward <= 1, "\(loops.level), \(count) values")
        }
    }
}

extension FloatLoops: CustomTestStringConvertible {
    public var testDescription: String { "\(level)" }
}
