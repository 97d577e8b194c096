import Foundation
import NGKernels
import Testing

/// `FloatMath.exp` and `FloatMath.erf` against the Double functions rounded to Float, over
/// their whole range: within their documented bounds (2 and 3 ulp), exact at the special
/// values.
@Suite struct FloatMathTests {
    /// The distance of `value` from `exact` in units of the last place of `exact` rounded to
    /// Float (the smallest subnormal's for results in the subnormal range).
    static func ulps(_ value: Float, _ exact: Double) -> Double {
        let rounded = Float(exact)
        let unit = Double(max(rounded.ulp, Float.leastNonzeroMagnitude))
        return abs(Double(value) - exact) / unit
    }

    /// The largest error over `points` evenly spaced and `points` random arguments in
    /// `range`, and the argument where it is.
    static func worst(
        _ f: (Float) -> Float, _ reference: (Double) -> Double, over range: ClosedRange<Float>, points: Int
    ) -> (ulps: Double, at: Float) {
        var generator = SeededGenerator(seed: 11)
        var result = (ulps: 0.0, at: Float(0))
        let step = (range.upperBound - range.lowerBound) / Float(points)
        for k in 0..<(2 * points) {
            let x = k < points
                ? range.lowerBound + Float(k) * step : Float.random(in: range, using: &generator)
            let error = ulps(f(x), reference(Double(x)))
            if error > result.ulps { result = (error, x) }
        }
        return result
    }

    @Test func expIsWithinTwoUlpsOverItsWholeRange() {
        for range: ClosedRange<Float> in [-104...(-87), -87...(-1), -1...1, 1...88.72] {
            let (error, x) = Self.worst(FloatMath.exp, Foundation.exp, over: range, points: 200_000)
            #expect(error <= 2, "exp(\(x)) is \(error) ulp off")
        }
    }

    @Test func expAtItsEdgesAndSpecialValues() {
        #expect(FloatMath.exp(0) == 1)
        #expect(FloatMath.exp(-0.0) == 1)
        #expect(FloatMath.exp(Float.leastNonzeroMagnitude) == 1)
        #expect(FloatMath.exp(-Float.leastNonzeroMagnitude) == 1)
        #expect(FloatMath.exp(-.infinity) == 0)
        #expect(FloatMath.exp(-105) == 0)
        #expect(FloatMath.exp(.infinity) == .infinity)
        #expect(FloatMath.exp(88.8) == .infinity)
        #expect(FloatMath.exp(1e30) == .infinity)
        #expect(FloatMath.exp(.nan).isNaN)
        // Subnormal results round once: e^−103 ≈ 1.4·10⁻⁴⁵ is the smallest subnormal.
        #expect(Self.ulps(FloatMath.exp(-103), Foundation.exp(-103.0)) <= 2)
        #expect(FloatMath.exp(-100).isSubnormal)
        #expect(FloatMath.exp(88.72).isFinite)
    }

    @Test func erfIsWithinThreeUlpsOverItsWholeRange() {
        for range: ClosedRange<Float> in [-1e-30...1e-30, -1...1, -4...(-1), 1...4, 4...10] {
            let (error, x) = Self.worst(FloatMath.erf, Foundation.erf, over: range, points: 200_000)
            #expect(error <= 3, "erf(\(x)) is \(error) ulp off")
        }
    }

    @Test func erfIsOddAndExactAtItsSpecialValues() {
        var generator = SeededGenerator(seed: 12)
        for _ in 0..<10_000 {
            let x = Float.random(in: -6...6, using: &generator)
            #expect(FloatMath.erf(-x) == -FloatMath.erf(x))
        }
        #expect(FloatMath.erf(0) == 0 && FloatMath.erf(0).sign == .plus)
        #expect(FloatMath.erf(-0.0) == 0 && FloatMath.erf(-0.0).sign == .minus)
        #expect(FloatMath.erf(.infinity) == 1)
        #expect(FloatMath.erf(-.infinity) == -1)
        #expect(FloatMath.erf(.greatestFiniteMagnitude) == 1)
        #expect(FloatMath.erf(.nan).isNaN)
        let tiny = Float.leastNonzeroMagnitude * 1000
        #expect(Self.ulps(FloatMath.erf(tiny), Foundation.erf(Double(tiny))) <= 3)
    }
}
