import CFloatMath

/// The exponential and the error function of `Float` as straight-line arithmetic — no call,
/// no branch — so that a loop over an array of them compiles to vector instructions (the libm
/// functions are scalar calls, one a value). Written once, in C (`CFloatMath`), where
/// `FloatLoops` compiles its loops for each vector level; Swift inlines them. Both are tested
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
    public static func exp(_ x: Float) -> Float { ngplus_expf(x) }

    /// erf(x) within 3 ulp of the correctly rounded value (2 ulp seen), odd, ±1 beyond
    /// |x| = 4 (where erf rounds to ±1 in Float), NaN for NaN.
    ///
    /// |x| < 1: x·P(x²), P of degree 6 fitted to erf(x)/x at Chebyshev nodes in relative error
    /// (1.4·10⁻⁹). 1 ≤ |x| < 4: 1 − e^{−x²}·Q(u), u = (|x| − 2.5)/1.5, Q of degree 12 fitted to
    /// erfc(x)·e^{x²} the same way (6·10⁻⁹); the rounding of x² moves e^{−x²} by at most
    /// 16 ulp of it, which erfc ≤ 0.16 makes a fraction of an ulp of erf. Both branches are
    /// computed and one is selected, so that a loop of them stays a vector loop.
    @inlinable @inline(__always)
    public static func erf(_ x: Float) -> Float { ngplus_erff(x) }
}
