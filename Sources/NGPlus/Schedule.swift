import Foundation

/// A value that changes with the step count t (from 0): learning rates and damping.
public indirect enum Schedule: Sendable, Equatable, Codable {
    /// `value` at every step.
    case constant(Double)
    /// `initial · factor^⌊t / every⌋`: step decay. The reference damping schedule
    /// `λ₀·ρ^(epoch/10)` is `.step(initial: λ₀, factor: ρ, every: 10·stepsPerEpoch)`.
    case step(initial: Double, factor: Double, every: Int)
    /// `initial · factor^(t / every)`: the continuous form of `step`.
    case exponential(initial: Double, factor: Double, every: Int)
    /// Cosine from `initial` at t = 0 to `final` at t = `steps`, then `final`.
    case cosine(initial: Double, final: Double, steps: Int)
    /// Linear from `start` times the next schedule's value at t = 0 to its full value at t =
    /// `steps`, then the next schedule (which sees t counted from 0 as usual).
    case warmup(steps: Int, start: Double, then: Schedule)

    /// The value at step t.
    public func value(at t: Int) -> Double {
        switch self {
        case let .constant(value):
            return value
        case let .step(initial, factor, every):
            return initial * pow(factor, Double(t / every))
        case let .exponential(initial, factor, every):
            return initial * pow(factor, Double(t) / Double(every))
        case let .cosine(initial, final, steps):
            let progress = min(1, Double(t) / Double(steps))
            return final + (initial - final) * (1 + cos(Double.pi * progress)) / 2
        case let .warmup(steps, start, then):
            let full = then.value(at: t)
            guard t < steps else { return full }
            return full * (start + (1 - start) * Double(t) / Double(steps))
        }
    }

    /// Throws `invalidArgument` for a non-positive interval or a negative or non-finite value.
    public func validate(_ operation: NGError.Operation, _ argument: String) throws(NGError) {
        func fail(_ reason: String) -> NGError {
            .invalidArgument(operation: operation, argument: argument, reason: reason)
        }
        switch self {
        case let .constant(value):
            guard value >= 0, value.isFinite else { throw fail("must be finite and non-negative, got \(value)") }
        case let .step(initial, factor, every), let .exponential(initial, factor, every):
            guard initial >= 0, initial.isFinite, factor > 0, factor.isFinite, every >= 1 else {
                throw fail("needs initial ≥ 0, factor > 0 (finite) and every ≥ 1, got \(initial), \(factor), \(every)")
            }
        case let .cosine(initial, final, steps):
            guard initial >= 0, final >= 0, initial.isFinite, final.isFinite, steps >= 1 else {
                throw fail("needs finite initial, final ≥ 0 and steps ≥ 1, got \(initial), \(final), \(steps)")
            }
        case let .warmup(steps, start, then):
            guard steps >= 1, start >= 0, start <= 1 else {
                throw fail("warm-up needs steps ≥ 1 and start in [0, 1], got \(steps), \(start)")
            }
            try then.validate(operation, argument)
        }
    }
}

extension Schedule: ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    /// A literal is a constant schedule: `learningRate: 0.1`.
    public init(floatLiteral value: Double) { self = .constant(value) }
    public init(integerLiteral value: Int) { self = .constant(Double(value)) }
}
