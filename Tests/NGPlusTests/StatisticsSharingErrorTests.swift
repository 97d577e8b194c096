import NGPlus
import NGTestSupport
import Testing

/// The data-parallel hooks of `StatisticsSharing` called out of turn — with a handle the
/// optimizer did not hand out, on a layer whose coming step shares nothing of that kind, or with
/// a record of the wrong size — throw a typed error and change nothing, as every other entry
/// point does; none of them traps.
@Suite struct StatisticsSharingErrorTests {
    enum Kind: CaseIterable { case ngPlus, kfac, sgd, adam, muon, shampoo }

    @Test(arguments: Kind.allCases)
    func everyHookRefusesAnUnknownHandleAndAKnownLayerThatSharesNothing(kind: Kind) throws {
        switch kind {
        case .ngPlus: try exercise(NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(batchSize: 8)))
        case .kfac: try exercise(KFACOptimizer<Float>(configuration: KFACConfiguration(batchSize: 8)))
        case .sgd: try exercise(SGDOptimizer<Float>(settings: SGDSettings()))
        case .adam: try exercise(AdamOptimizer<Float>(settings: AdamSettings()))
        case .muon: try exercise(MuonOptimizer<Float>(settings: MuonSettings()))
        case .shampoo: try exercise(ShampooOptimizer<Float>(settings: ShampooSettings()))
        }
    }

    func exercise<O: StatisticsSharing>(_ fresh: O) throws where O.Scalar == Float {
        var optimizer = fresh
        // A vector layer shares nothing under any optimizer.
        let vector = try optimizer.register(.vector(length: 4))
        let before = optimizer.stateBytes()
        var values = [Float](repeating: 0, count: 16)
        var figures = [Double](repeating: 0, count: 16)
        for handle in [LayerHandle(index: 7), LayerHandle(index: -1), vector] {
            var visited = false
            let known = handle == vector
            expectRefused(known) { try optimizer.withSummedStatistics(of: handle) { _ in visited = true } }
            expectRefused(known) { try optimizer.withGatheredRows(of: handle, totalRows: 4) { _ in visited = true } }
            expectRefused(known) {
                var v = values.mutableSpan
                var f = figures.mutableSpan
                _ = try optimizer.makeSharedRefresh(of: handle, values: &v, figures: &f)
            }
            expectRefused(known) { _ = try optimizer.adoptSharedRefresh(of: handle, values: values.span, figures: figures.span) }
            #expect(!visited)
        }
        if case .unknownLayer(_, let layer)? = #expect(throws: OptimizerError.self, performing: {
            try adopt(&optimizer, LayerHandle(index: 7), values: [], figures: [])
        }) {
            #expect(layer == 7)
        }
        #expect(optimizer.stateBytes() == before)
    }

    /// NG+ on a refresh step with a shared refresh due: a record of the wrong size is refused
    /// and the layer's coming step is as it was; the owner's record of the right size is adopted.
    @Test func aRecordOfTheWrongSizeIsRefusedWithNothingChanged() throws {
        func prepared() throws -> (NGPlusOptimizer<Float>, LayerHandle) {
            var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
                side: .left, method: .explicitInverse, batchSize: 8))
            let layer = try optimizer.register(.dense(outputs: 6, inputs: 5, bias: true))
            var generator = SeededGenerator(seed: 3)
            try optimizer.observe(
                layer, inputs: .random(rows: 8, columns: 5, using: &generator),
                outputGradients: .random(rows: 8, columns: 6, scale: 0.1, using: &generator))
            return (optimizer, layer)
        }
        var (owner, layer) = try prepared()
        var (other, _) = try prepared()
        let refresh = try #require(owner.sharedRefresh(of: layer))
        var values = [Float](repeating: 0, count: refresh.values)
        var figures = [Double](repeating: 0, count: refresh.figures)
        let made = try makeRecord(&owner, layer, values: &values, figures: &figures)
        let before = other.stateBytes()
        #expect(throws: NGError.self) {
            try adopt(&other, layer, values: Array(values.dropLast()), figures: figures)
        }
        #expect(throws: NGError.self) {
            try adopt(&other, layer, values: values, figures: figures + [0])
        }
        #expect(other.stateBytes() == before)
        // The right record is adopted, and both processes then take the same step, each handed
        // its prepared refresh; a refresh prepared for another step is refused.
        let adopted = try adopt(&other, layer, values: values, figures: figures)
        var generator = SeededGenerator(seed: 4)
        let gradient = Matrix<Float>.random(rows: 6, columns: 6, scale: 0.1, using: &generator)
        var ownerWeight = Matrix<Float>(rows: 6, columns: 6, repeating: 0.5)
        var otherWeight = ownerWeight
        try owner.step(layer, weight: &ownerWeight, gradient: gradient, refresh: made)
        try other.step(layer, weight: &otherWeight, gradient: gradient, refresh: adopted)
        #expect(ownerWeight.elements == otherWeight.elements)
        // The same refresh handed to the next step is refused, with nothing changed.
        let afterStep = other.stateBytes()
        #expect(throws: NGError.self) {
            try other.step(layer, weight: &otherWeight, gradient: gradient, refresh: adopted)
        }
        #expect(other.stateBytes() == afterStep)
    }

    /// A refresh prepared for one layer, handed to another layer's step, is refused with
    /// nothing changed.
    @Test func aRefreshPreparedForAnotherLayerIsRefused() throws {
        var optimizer = try NGPlusOptimizer<Float>(configuration: NGPlusConfiguration(
            side: .left, method: .explicitInverse, batchSize: 4))
        let first = try optimizer.register(.dense(outputs: 3, inputs: 2, bias: false))
        let second = try optimizer.register(.dense(outputs: 3, inputs: 2, bias: false))
        var generator = SeededGenerator(seed: 5)
        for layer in [first, second] {
            try optimizer.observe(
                layer, inputs: .random(rows: 4, columns: 2, using: &generator),
                outputGradients: .random(rows: 4, columns: 3, scale: 0.1, using: &generator))
        }
        let size = try #require(optimizer.sharedRefresh(of: first))
        var values = [Float](repeating: 0, count: size.values)
        var figures = [Double](repeating: 0, count: size.figures)
        let prepared = try makeRecord(&optimizer, first, values: &values, figures: &figures)
        var weight = Matrix<Float>(rows: 3, columns: 2, repeating: 0.5)
        let before = (optimizer.stateBytes(), weight)
        #expect(throws: NGError.self) {
            try optimizer.step(second, weight: &weight, gradient: Matrix(rows: 3, columns: 2, repeating: 0.1), refresh: prepared)
        }
        #expect(optimizer.stateBytes() == before.0)
        #expect(weight == before.1)
    }

    /// `body` throws `invalidArgument` for a known layer, `unknownLayer` for an unknown one.
    func expectRefused(_ known: Bool, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let error as NGError {
            guard known, case .invalidArgument = error else {
                Issue.record("\(error)", sourceLocation: sourceLocation)
                return
            }
        } catch let error as OptimizerError {
            guard !known, case .unknownLayer = error else {
                Issue.record("\(error)", sourceLocation: sourceLocation)
                return
            }
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    /// `makeSharedRefresh` into arrays.
    func makeRecord<O: StatisticsSharing>(
        _ optimizer: inout O, _ layer: LayerHandle, values: inout [O.Scalar], figures: inout [Double]
    ) throws -> PreparedRefresh {
        var v = values.mutableSpan
        var f = figures.mutableSpan
        return try optimizer.makeSharedRefresh(of: layer, values: &v, figures: &f)
    }

    /// `adoptSharedRefresh` with arrays.
    @discardableResult
    func adopt<O: StatisticsSharing>(
        _ optimizer: inout O, _ layer: LayerHandle, values: [O.Scalar], figures: [Double]
    ) throws -> PreparedRefresh {
        try optimizer.adoptSharedRefresh(of: layer, values: values.span, figures: figures.span)
    }
}
