/// A data-parallel run's share of a layer whose block is built from observations: its
/// statistics on statistics steps (`ObservedCurvatureBlock.sharedStatistics`) and, on refresh
/// steps, the refresh one process makes for all.
extension CurvatureLayer {
    public func sharedStatistics(_ settings: Settings) -> SharedStatistics {
        guard isStatisticsStep(settings) else { return .none }
        return switch curvature {
        case let .perSample(block): block.sharedStatistics
        case let .kronecker(block): block.sharedStatistics
        case .matrix, .embedding, .identity, .moving: .none
        }
    }

    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void) {
        var nothing: Void = ()
        switch curvature.kind {
        case .perSample: curvature.withPerSample(&nothing) { block, _ in block.withSummedStatistics(body) }
        case .kronecker: curvature.withKronecker(&nothing) { block, _ in block.withSummedStatistics(body) }
        case .matrix, .embedding, .identity: break
        }
    }

    public var factorRowsInUse: Int {
        switch curvature {
        case let .perSample(block): block.builder.factor?.rank ?? 0
        case let .kronecker(block): block.input.rows.current.count
        case .matrix, .embedding, .identity, .moving: 0
        }
    }

    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func withGatheredRows(totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void) {
        var nothing: Void = ()
        switch curvature.kind {
        case .perSample:
            curvature.withPerSample(&nothing) { block, _ in
                block.builder.withGatheredFactor(totalRows: totalRows) { $0.withMutableSpan(body) }
            }
        case .kronecker:
            curvature.withKronecker(&nothing) { block, _ in block.withGatheredRows(totalRows: totalRows, body) }
        case .matrix, .embedding, .identity: break
        }
    }

    public func sharedRefresh(_ settings: Settings) -> SharedRefresh? {
        guard isRefreshStep(settings) else { return nil }
        let (size, flops) = switch curvature {
        case let .perSample(block): (block.refreshRecordSize, block.refreshFlops)
        case let .kronecker(block): (block.refreshRecordSize, block.refreshFlops)
        case .matrix, .embedding, .identity, .moving: ((values: Int, figures: Int)?.none, 0.0)
        }
        guard let size else { return nil }
        return SharedRefresh(flops: flops, values: size.values, figures: size.figures + RefreshRecord.outcomeFigures)
    }

    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func makeSharedRefresh(
        values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>, index: Int,
        _ settings: Settings, _ operation: NGError.Operation
    ) throws -> RefreshAhead {
        try progress.requireStatistics(statisticsStep: isStatisticsStep(settings), index: index, operation)
        let damping = settings.dampingRule(for: spec, step: step)
        var nothing: Void = ()
        switch curvature.kind {
        case .perSample:
            return try curvature.withPerSample(&nothing) { (block, _) throws(NGError) in
                try block.makeRefreshRecord(damping: damping, values: &values, figures: &figures)
            }
        case .kronecker:
            return try curvature.withKronecker(&nothing) { (block, _) throws(NGError) in
                try block.makeRefreshRecord(damping: damping, values: &values, figures: &figures)
            }
        case .matrix, .embedding, .identity:
            return .inUse
        }
    }

    @_specialize(where Scalar == Float, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Double, Settings == NGPlusConfiguration)
    @_specialize(where Scalar == Float, Settings == KFACConfiguration)
    @_specialize(where Scalar == Double, Settings == KFACConfiguration)
    public mutating func adoptSharedRefresh(values: Span<Scalar>, figures: Span<Double>) -> RefreshAhead {
        var nothing: Void = ()
        switch curvature.kind {
        case .perSample:
            return curvature.withPerSample(&nothing) { block, _ in block.adoptRefreshRecord(values: values, figures: figures) }
        case .kronecker:
            return curvature.withKronecker(&nothing) { block, _ in block.adoptRefreshRecord(values: values, figures: figures) }
        case .matrix, .embedding, .identity:
            return .inUse
        }
    }
}
