/// The Double value of a Float sum of `count` terms and the bound a Float sum of them keeps
/// within, in any order with one rounding a term: `(count + 3)·u·Σ|term|`, u = 2⁻²⁴.
public func floatSumReference(count: Int, _ term: (Int) -> Double) -> (value: Double, bound: Double) {
    var (sum, magnitude) = (0.0, 0.0)
    for k in 0..<count {
        let value = term(k)
        sum += value
        magnitude += abs(value)
    }
    return (sum, Double(count + 3) * 0x1p-24 * magnitude)
}
