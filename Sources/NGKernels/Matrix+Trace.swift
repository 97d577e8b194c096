extension Matrix {
    /// `tr(A)/n` of a square matrix, summed in Double: the mean eigenvalue of a symmetric A.
    /// 0 for an empty matrix.
    public func meanDiagonal() -> Double {
        precondition(rows == columns, "the mean diagonal of a non-square matrix")
        guard rows > 0 else { return 0 }
        var sum = 0.0
        for i in 0..<rows { sum += Double(self[i, i]) }
        return sum / Double(rows)
    }
}
