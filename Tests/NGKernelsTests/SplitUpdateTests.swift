import NGKernels
import Testing

/// The momentum update split over the cores (`BLASScalar.momentumUpdate`): one thread and three
/// give the same bits — velocity and new weights — and a value that is not finite in the last
/// chunk is reported whatever the split.
@Suite struct SplitUpdateTests {
    /// Three chunks of at least 16,384 values and a tail that is not a multiple of 16.
    static let count = 3 * 16_384 + 5

    /// The new velocity and weights, and whether they are finite, on `threads` threads.
    static func momentumStep<Scalar: BLASScalar>(
        _: Scalar.Type, threads: Int, poisoned: Bool
    ) -> (velocity: [Scalar], weight: [Scalar], finite: Bool) {
        ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
        var generator = SeededGenerator(seed: 91)
        var gradient = (0..<count).map { _ in Scalar(Double.random(in: -1...1, using: &generator)) }
        let velocity = (0..<count).map { _ in Scalar(Double.random(in: -1...1, using: &generator)) }
        let weight = (0..<count).map { _ in Scalar(Double.random(in: -1...1, using: &generator)) }
        if poisoned { gradient[count - 7] = .nan }
        var newVelocity = [Scalar](repeating: 0, count: count)
        var newWeight = [Scalar](repeating: 0, count: count)
        let finite = gradient.withUnsafeMutableBufferPointer { g in
            weight.withUnsafeBufferPointer { w in
                newWeight.withUnsafeMutableBufferPointer { target in
                    Scalar.momentumUpdate(
                        gradient: g.baseAddress!, velocity: velocity, into: &newVelocity, count: count, momentum: 0.9,
                        restart: false, nesterov: true,
                        weightUpdate: FusedWeightUpdate(
                            weight: w.baseAddress!, newWeight: target.baseAddress!, keep: 0.99, rate: 0.1))
                }
            }
        }
        return (newVelocity, newWeight, finite)
    }

    static func sameBits<Scalar: BLASScalar>(_ a: [Scalar], _ b: [Scalar]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
    }

    @Test func momentumUpdateDoesNotDependOnTheThreadCount() {
        defer { ParallelLoop.threadCountOverride.store(0, ordering: .relaxed) }
        for poisoned in [false, true] {
            let one = Self.momentumStep(Float.self, threads: 1, poisoned: poisoned)
            let three = Self.momentumStep(Float.self, threads: 3, poisoned: poisoned)
            #expect(Self.sameBits(one.velocity, three.velocity) && Self.sameBits(one.weight, three.weight))
            #expect(one.finite == !poisoned && three.finite == !poisoned)
            let oneD = Self.momentumStep(Double.self, threads: 1, poisoned: poisoned)
            let threeD = Self.momentumStep(Double.self, threads: 3, poisoned: poisoned)
            #expect(Self.sameBits(oneD.velocity, threeD.velocity) && Self.sameBits(oneD.weight, threeD.weight))
            #expect(oneD.finite == !poisoned && threeD.finite == !poisoned)
        }
    }
}
