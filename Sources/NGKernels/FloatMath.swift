/// The exponential and the error function of `Float` as straight-line arithmetic — no call,
/// no branch — so that a loop over an array of them compiles to vector instructions (the libm
/// functions are scalar calls, one a value). Both are tested
/// against the Double functions over their whole range, ±0, subnormals, ±∞ and NaN
/// (`FloatMathTests`); the bounds below are those tests'.
public enum FloatMath {
    /// eˣ within 2 ulp of the correctly rounded value (1 ulp seen), subnormal results
    /// included: 0 below −104, +∞ above 88.73, NaN for NaN.
    ///
    /// x = n·ln 2 + r with n = round(x/ln 2) (the 1.5·2²³ trick: the sum's low mantissa bits
    /// hold n) and r reduced in two steps (ln 2 = 0.693359375 − 2.12194440·10⁻⁴, the first
    /// part exact times any n in range), so |r| ≤ ln 2 / 2; e^r by its Taylor polynomial of
    /// degree 7 (truncation below 10⁻⁸, a tenth of an ulp); 2ⁿ applied as two powers of two
    /// built from their bits, so that every product but the last is exact and results down to
    /// the smallest subnormal round once.
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        var clamped = x < 89 ? x : 89
        clamped = clamped > -104 ? clamped : -104
        let shifted = clamped * 1.44269504088896341 + 12_582_912
        let n = shifted - 12_582_912
        var r = clamped - n * 0.693359375
        r -= n * -2.12194440e-4
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let power = Int32(bitPattern: shifted.bitPattern &- 0x4B40_0000)
        let half = power &>> 1
        let first = Float(bitPattern: UInt32(bitPattern: (half &+ 127) &<< 23))
        let second = Float(bitPattern: UInt32(bitPattern: (power &- half &+ 127) &<< 23))
        let result = p * first * second
        return x == x ? result : x
    }

    /// erf(x) within 3 ulp of the correctly rounded value (2 ulp seen), odd, ±1 beyond
    /// |x| = 4 (where erf rounds to ±1 in Float), NaN for NaN.
    ///
    /// |x| < 1: x·P(x²), P of degree 6 fitted to erf(x)/x at Chebyshev nodes in relative error
    /// (1.4·10⁻⁹). 1 ≤ |x| < 4: 1 − e^{−x²}·Q(u), u = (|x| − 2.5)/1.5, Q of degree 12 fitted to
    /// erfc(x)·e^{x²} the same way (6·10⁻⁹); the rounding of x² moves e^{−x²} by at most
    /// 16 ulp of it, which erfc ≤ 0.16 makes a fraction of an ulp of erf. Both branches are
    /// computed and one is selected, so that a loop of them stays a vector loop.
    @inlinable @inline(__always)
    public static func erf(_ x: Float) -> Float {
        let magnitude = Float(bitPattern: x.bitPattern & 0x7fff_ffff)
        let square = magnitude * magnitude
        var p: Float = 7.89821011783372e-05
        p = p * square - 0.0008024354098813989
        p = p * square + 0.005190053573950938
        p = p * square - 0.026854808534758363
        p = p * square + 0.11283612428167056
        p = p * square - 0.3761262884331419
        p = p * square + 1.1283791665100469
        let small = x * p
        var b = magnitude < 4 ? magnitude : 4
        b = b > 1 ? b : 1
        let u = (b - 2.5) * (1 / 1.5)
        var q: Float = 1.2445648952507604e-05
        q = q * u - 3.665494840998298e-05
        q = q * u + 5.9020494658899705e-05
        q = q * u - 0.0001446941095021451
        q = q * u + 0.0004099893438392175
        q = q * u - 0.0010163813257730078
        q = q * u + 0.0024040043781717152
        q = q * u - 0.005567650117391796
        q = q * u + 0.012489175804617376
        q = q * u - 0.027005669797881063
        q = q * u + 0.056110516530914124
        q = q * u - 0.11152100739281148
        q = q * u + 0.21080636368941666
        var large = 1 - exp(-(b * b)) * q
        large = magnitude < 4 ? large : 1
        let signed = Float(bitPattern: large.bitPattern | (x.bitPattern & 0x8000_0000))
        let result = magnitude < 1 ? small : signed
        return x == x ? result : x
    }
}
