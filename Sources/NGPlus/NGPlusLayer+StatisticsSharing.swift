/// NG+ shares a dense or conv2d layer's statistics on its statistics steps: the explicit GFIM
/// (every diagonal block) summed, or a Woodbury plan's factor rows gathered.
extension NGPlusLayer {
    public func sharedStatistics(_ configuration: NGPlusConfiguration) -> SharedStatistics {
        guard case let .perSample(curvature) = curvature, isStatisticsStep(configuration) else { return .none }
        if curvature.plan.method == .woodbury { return .gatheredRows(width: curvature.builder.factorWidth) }
        return .summed(count: curvature.gfim.blockStorageCount)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void) {
        curvature.withPerSample(&update.direction) { curvature, _ in curvature.gfim.forEachBlockStorage { $0.withMutableSpan(body) } }
    }

    public var factorRowsInUse: Int {
        guard case let .perSample(curvature) = curvature else { return 0 }
        return curvature.builder.factor?.rank ?? 0
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func withGatheredRows(totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void) {
        curvature.withPerSample(&update.direction) { curvature, _ in
            curvature.builder.withGatheredFactor(totalRows: totalRows) { $0.withMutableSpan(body) }
        }
    }

    public func sharedRefresh(_ configuration: NGPlusConfiguration) -> SharedRefresh? {
        guard case let .perSample(curvature) = curvature, isRefreshStep(configuration),
              let size = curvature.refreshRecordSize else { return nil }
        return SharedRefresh(
            flops: curvature.plan.refreshFlops, values: size.values, figures: size.figures + RefreshRecord.outcomeFigures)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func makeSharedRefresh(
        values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>, index: Int,
        _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws -> RefreshAhead {
        try progress.requireStatistics(statisticsStep: isStatisticsStep(configuration), index: index, operation)
        let damping = configuration.dampingRule(for: spec, step: step)
        return try curvature.withPerSample(&update.direction) { (curvature, _) throws(NGError) in
            try curvature.makeRefreshRecord(damping: damping, values: &values, figures: &figures)
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func adoptSharedRefresh(
        values: Span<Scalar>, figures: Span<Double>
    ) -> RefreshAhead {
        curvature.withPerSample(&update.direction) { curvature, _ in
            curvature.adoptRefreshRecord(values: values, figures: figures)
        }
    }
}
