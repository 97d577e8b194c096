import NGPlus
import NGTrain
import Testing

@Suite struct ValidationScheduleTests {
    /// The steps of an epoch after which `schedule` validates.
    func validations(_ schedule: ValidationSchedule, steps: Int) -> [Int] {
        (1...steps).filter { schedule.validates(after: $0, of: steps) }
    }

    @Test func hundredStepsTenTimesAreEveryTenth() throws {
        #expect(validations(try ValidationSchedule(perEpoch: 10), steps: 100) == Array(stride(from: 10, through: 100, by: 10)))
        #expect(validations(try ValidationSchedule(perEpoch: 3), steps: 7) == [3, 5, 7])
        #expect(validations(.everyEpoch, steps: 46) == [46])
        #expect(validations(try ValidationSchedule(perEpoch: 1), steps: 1) == [1])
    }

    /// Over random epochs: min(n, steps) validations, the last after the last step, none more
    /// than ⌈steps/n⌉ steps after the one before (or the epoch's start).
    @Test func anyScheduleValidatesEvenlyAndLastAtTheEpochsEnd() throws {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<500 {
            let steps = Int.random(in: 1...300, using: &generator)
            let n = Int.random(in: 1...40, using: &generator)
            let points = validations(try ValidationSchedule(perEpoch: n), steps: steps)
            #expect(points.count == min(n, steps), "\(n) in \(steps)")
            #expect(points.last == steps)
            let gaps = zip(points, [0] + points).map { $0 - $1 }
            let widest = (steps + min(n, steps) - 1) / min(n, steps)
            #expect(gaps.allSatisfy { $0 >= 1 && $0 <= widest }, "\(n) in \(steps): \(points)")
        }
    }

    @Test func fewerThanOneValidationIsRefused() {
        for n in [0, -1, Int.min] {
            #expect(throws: NGError.self) { try ValidationSchedule(perEpoch: n) }
        }
    }
}
