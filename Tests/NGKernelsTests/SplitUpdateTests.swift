import NGKernels
import Testing

/// The momentum update split over the cores (`BLASScalar.momentumUpdate`): one thread and three
/// give the same bits — velocity and new weights — and a value that is not finite in the last
/// chunk is reported whatever the split. With an L2 decay on the weight columns of rows of
/// 785 (the chunks start mid-row), a bias column's values are those of the update without
/// decay, bit for bit, and every weight column's differ.
@Suite struct SplitUpdateTests {
    /// Three chunks of at least 16,384 values and a tail that is not a multiple of 16.
    static let count = 3 * 16_384 + 5

    /// The new velocity and weights, and whether they are finite, on `threads` threads.
    static func momentumStep<Scalar: BLASScalar>(
        _: Scalar.Type, threads: Int, poisoned: Bool, decay: Scalar = 0
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
                            weight: w.baseAddress!, newWeight: target.baseAddress!, keep: 0.99, rate: 0.1, decay: decay,
                            decayedColumns: .init(rowLength: 785, columns: 784)))
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

    @Test func theDecaySkipsTheBiasColumnOnAnySplit() {
        defer { ParallelLoop.threadCountOverride.store(0, ordering: .relaxed) }
        func check<Scalar: BLASScalar>(_ type: Scalar.Type) {
            let plain = Self.momentumStep(type, threads: 1, poisoned: false)
            for threads in [1, 3] {
                let decayed = Self.momentumStep(type, threads: threads, poisoned: false, decay: 0.05)
                let bias = (0..<Self.count).filter { $0 % 785 == 784 }
                #expect(bias.allSatisfy { decayed.velocity[$0] == plain.velocity[$0] && decayed.weight[$0] == plain.weight[$0] })
                #expect((0..<Self.count).filter { $0 % 785 != 784 }.allSatisfy { decayed.velocity[$0] != plain.velocity[$0] })
            }
        }
        check(Float.self)
        check(Double.self)
    }
}
