import NGKernels

/// A dense Double matrix with plain-loop arithmetic: the independent reference every kernel is
/// checked against. Nothing here calls BLAS or LAPACK.
public struct Reference: Equatable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int
    public var values: [Double]

    public init(rows: Int, columns: Int, values: [Double]? = nil) {
        self.rows = rows
        self.columns = columns
        self.values = values ?? Array(repeating: 0, count: rows * columns)
        precondition(self.values.count == rows * columns)
    }

    public init<Scalar: BLASScalar>(_ m: Matrix<Scalar>) {
        self.init(rows: m.rows, columns: m.columns, values: m.elements.map(Double.init))
    }

    public static func identity(_ n: Int) -> Reference {
        var r = Reference(rows: n, columns: n)
        for i in 0..<n { r[i, i] = 1 }
        return r
    }

    public subscript(i: Int, j: Int) -> Double {
        get { values[i * columns + j] }
        set { values[i * columns + j] = newValue }
    }

    public var transposed: Reference {
        var t = Reference(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { t[j, i] = self[i, j] } }
        return t
    }

    public static func * (a: Reference, b: Reference) -> Reference {
        precondition(a.columns == b.rows)
        var c = Reference(rows: a.rows, columns: b.columns)
        for i in 0..<a.rows {
            for j in 0..<b.columns {
                var sum = 0.0
                for k in 0..<a.columns { sum += a[i, k] * b[k, j] }
                c[i, j] = sum
            }
        }
        return c
    }

    public static func + (a: Reference, b: Reference) -> Reference {
        precondition(a.rows == b.rows && a.columns == b.columns)
        return Reference(rows: a.rows, columns: a.columns, values: zip(a.values, b.values).map(+))
    }

    public static func - (a: Reference, b: Reference) -> Reference {
        a + (-1) * b
    }

    public static func * (s: Double, a: Reference) -> Reference {
        Reference(rows: a.rows, columns: a.columns, values: a.values.map { s * $0 })
    }

    /// The Frobenius norm.
    public var norm: Double { values.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// The elementwise absolute values.
    public var absolute: Reference { Reference(rows: rows, columns: columns, values: values.map(abs)) }

    /// The inverse by Gauss–Jordan elimination with partial pivoting.
    public var inverse: Reference {
        precondition(rows == columns)
        let n = rows
        var a = self
        var inv = Reference.identity(n)
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0, col]) < abs(a[$1, col]) }!
            for j in 0..<n {
                a.values.swapAt(col * n + j, pivot * n + j)
                inv.values.swapAt(col * n + j, pivot * n + j)
            }
            let p = a[col, col]
            for j in 0..<n { a[col, j] /= p; inv[col, j] /= p }
            for i in 0..<n where i != col {
                let f = a[i, col]
                if f == 0 { continue }
                for j in 0..<n { a[i, j] -= f * a[col, j]; inv[i, j] -= f * inv[col, j] }
            }
        }
        return inv
    }

    /// The 1-norm condition number ‖A‖₁·‖A⁻¹‖₁, an independent estimate for tolerances.
    public var conditionNumber: Double {
        func oneNorm(_ m: Reference) -> Double {
            (0..<m.columns).map { j in (0..<m.rows).reduce(0) { $0 + abs(m[$1, j]) } }.max()!
        }
        return oneNorm(self) * oneNorm(inverse)
    }

    /// The block of rows `r` and columns `c`.
    public func block(_ r: Range<Int>, _ c: Range<Int>) -> Reference {
        var b = Reference(rows: r.count, columns: c.count)
        for i in r { for j in c { b[i - r.lowerBound, j - c.lowerBound] = self[i, j] } }
        return b
    }

    public var description: String {
        (0..<rows).map { i in (0..<columns).map { j in "\(self[i, j])" }.joined(separator: " ") }
            .joined(separator: "\n")
    }
}

/// ‖a − b‖ / max(‖scale‖, tiny): a relative Frobenius error against a reference scale.
public func relativeError(_ a: Reference, _ b: Reference, scale: Reference? = nil) -> Double {
    precondition(a.rows == b.rows && a.columns == b.columns, "shapes differ")
    let denominator = max((scale ?? b).norm, Double.leastNormalMagnitude)
    return (a - b).norm / denominator
}

/// The unit round-off of a scalar type, in Double.
public func unitRoundoff<Scalar: BLASScalar>(_: Scalar.Type) -> Double {
    Double(Scalar.ulpOfOne) / 2
}

/// Tests name operations as the errors print them: `"NGPlusOptimizer.step"`.
extension NGError.Operation: ExpressibleByStringLiteral {
    public init(stringLiteral name: String) { self.init(name) }
}
