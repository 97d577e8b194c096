import Foundation
import NGKernels
import NGTestSupport
import Testing

/// `FloatLoops.gaussianBasis` at every vector level: each value against `exp(−γ·(r − k·s)²)` in
/// Double within `GaussianBasisReference`'s bound, 0 exactly where that falls below the floor, nothing
/// written past the last row (whose last block the loop writes through a buffer, the other
/// rows' into the row after them), and the special distances.
@Suite struct FloatGaussianBasisTests {
    static let floor = Float(0x1p-63)
    static let lowest = Float(log(Double(floor)) - 1)

    @Test(arguments: FloatLoopsTests.levels)
    func valuesMatchADoubleReferenceAndTheFloor(_ loops: FloatLoops) {
        var generator = SeededGenerator(seed: 71)
        let spacing = Float(2.5 / 24)
        let gamma = Float(0.5 / Double(spacing * spacing))
        var (checked, flushed) = (0, 0)
        for centers in [1, 5, 16, 25, 32, 33] {
            for pairs in [1, 2, 7] {
                var distances = (0..<pairs).map { _ in Float.random(in: 0...4, using: &generator) }
                distances[0] = Float(centers / 2) * spacing
                let sentinels = 20
                var basis = [Float](repeating: .nan, count: pairs * centers + sentinels)
                loops.gaussianBasis(
                    distances, pairs: pairs, centers: centers, spacing: spacing, gamma: gamma, lowest: Self.lowest,
                    floor: Self.floor, into: &basis)
                #expect(basis[(pairs * centers)...].allSatisfy { $0.isNaN }, "\(loops.level): written past the last row")
                for p in 0..<pairs {
                    for k in 0..<centers {
                        let value = basis[p * centers + k]
                        let want = GaussianBasisReference(distance: distances[p], center: k, spacing: spacing, gamma: gamma)
                        let (reference, tolerance) = (want.value, want.relativeBound)
                        let place = "\(loops.level), \(centers) centers, pair \(p), center \(k)"
                        #expect(value == 0 || value >= Self.floor, "\(place): \(value)")
                        if reference < Double(Self.floor) * (1 - tolerance) {
                            #expect(value == 0, "\(place): \(value) for \(reference)")
                            flushed += 1
                        } else if reference > Double(Self.floor) * (1 + tolerance) {
                            #expect(abs(Double(value) - reference) <= tolerance * reference, "\(place): \(value) for \(reference)")
                            checked += 1
                        }
                    }
                }
                // A distance on a center gives e⁰ there.
                #expect(basis[centers / 2] == 1)
            }
        }
        #expect(checked > 500 && flushed > 100)
    }

    @Test(arguments: FloatLoopsTests.levels)
    func specialDistances(_ loops: FloatLoops) {
        let distances: [Float] = [.nan, .infinity, -.infinity, 0]
        let centers = 25
        var basis = [Float](repeating: 7, count: distances.count * centers)
        let spacing = Float(2.5 / 24)
        loops.gaussianBasis(
            distances, pairs: distances.count, centers: centers, spacing: spacing,
            gamma: Float(0.5 / Double(spacing * spacing)), lowest: Self.lowest, floor: Self.floor, into: &basis)
        #expect(basis[0..<centers].allSatisfy { $0.isNaN }, "\(loops.level)")
        #expect(basis[centers..<(3 * centers)].allSatisfy { $0 == 0 }, "\(loops.level)")
        #expect(basis[3 * centers] == 1 && basis[3 * centers + 1] > 0.6 && basis[3 * centers + 24] == 0)
    }
}
