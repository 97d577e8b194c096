/// K-FAC shares a dense or conv2d layer's two factors, summed, on its statistics steps.
extension KFACLayer {
    public func sharedStatistics(_ configuration: KFACConfiguration) -> SharedStatistics {
        guard let curvature, usesObservation(configuration) else { return .none }
        return .summed(count: curvature.inputFactor.blockStorageCount + curvature.outputFactor.blockStorageCount)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func withSummedStatistics(_ body: (inout MutableSpan<Scalar>) -> Void) {
        curvature?.inputFactor.forEachBlockStorage { $0.withMutableSpan(body) }
        curvature?.outputFactor.forEachBlockStorage { $0.withMutableSpan(body) }
    }

    /// K-FAC's factors are summed, never gathered as rows.
    public var factorRowsInUse: Int { 0 }

    /// Not called: K-FAC's statistics are never `.gatheredRows`.
    public func withGatheredRows(totalRows: Int, _ body: (inout MutableSpan<Scalar>) -> Void) {}

    public func sharedRefresh(_ configuration: KFACConfiguration) -> SharedRefresh? {
        guard let curvature, isRefreshStep(configuration), let size = curvature.refreshRecordSize else { return nil }
        let (input, output) = (Double(curvature.inputFactor.dimension), Double(curvature.outputFactor.dimension))
        return SharedRefresh(
            flops: input * input * input + output * output * output, values: size.values,
            figures: size.figures + RefreshRecord.outcomeFigures)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func makeSharedRefresh(
        values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>, index: Int,
        _ configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws -> RefreshAhead {
        try progress.requireStatistics(statisticsStep: isStatisticsStep(configuration), index: index, operation)
        let damping = dampingRule(configuration)
        return try curvature?.makeRefreshRecord(damping: damping, values: &values, figures: &figures) ?? .inUse
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func adoptSharedRefresh(
        values: Span<Scalar>, figures: Span<Double>
    ) -> RefreshAhead {
        curvature?.adoptRefreshRecord(values: values, figures: figures) ?? .inUse
    }
}
