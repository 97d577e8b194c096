extension NGPlusOptimizer.Layer {
    func encode(to writer: inout StateWriter) {
        writer.write(step)
        writer.write(observedStep)
        update.rule.encode(to: &writer)
        curvature.encode(to: &writer)
    }

    mutating func restore(from reader: inout StateReader) throws(NGError) {
        let savedStep = try reader.readInt()
        let savedObserved = try reader.readInt()
        guard savedStep >= 0, savedObserved >= -1, savedObserved <= savedStep else {
            throw reader.fail("impossible step counts \(savedStep), \(savedObserved)")
        }
        step = savedStep
        observedStep = savedObserved
        try update.rule.restore(from: &reader)
        try curvature.restore(from: &reader)
    }
}
