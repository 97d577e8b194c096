extension WoodburyInverse: StateCodable {
    public func encode(to writer: inout StateWriter) {
        writer.write(currentRank)
        writer.write(factors)
        writer.write(solvedFactors)
        writer.write(Double(scale))
        writer.write(Double(shift))
        writer.write(reports.current != nil)
        reports.current?.encode(to: &writer)
    }

    public mutating func restore(from reader: inout StateReader) throws(NGError) {
        let rank = try reader.readInt()
        let savedFactors: Matrix<Scalar> = try reader.readMatrix(what: "Woodbury factors")
        let savedSolved: Matrix<Scalar> = try reader.readMatrix(what: "Woodbury solved factors")
        guard rank >= 0, savedFactors.shape == Shape(rank, dimension), savedSolved.shape == savedFactors.shape else {
            throw reader.fail("Woodbury state of rank \(rank) does not fit order \(dimension)")
        }
        let savedScale = try reader.readDouble()
        let savedShift = try reader.readDouble()
        var report: DampingReport?
        if try reader.readBool() {
            var restored = DampingReport()
            try restored.restore(from: &reader)
            report = restored
        }
        currentRank = rank
        factors = savedFactors
        solvedFactors = savedSolved
        scratch = Matrix(rows: rank, columns: rank)
        scale = Scalar(savedScale)
        shift = Scalar(savedShift)
        reports.current = report
    }
}
