/// NG+ shares a dense or conv2d layer's statistics on its statistics steps: the explicit GFIM
/// (every diagonal block) summed, or a Woodbury plan's factor rows gathered.
extension NGPlusOptimizer: StatisticsSharing {
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sharedStatistics(of layer: LayerHandle) -> SharedStatistics {
        table.sharedStatistics(layer, configuration)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func withSummedStatistics(
        of layer: LayerHandle, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void
    ) throws {
        try table.withSummedStatistics(layer, configuration, body)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func withGatheredRows(
        of layer: LayerHandle, totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void
    ) throws {
        try table.withGatheredRows(layer, totalRows: totalRows, configuration, body)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sharedRefresh(of layer: LayerHandle) -> SharedRefresh? {
        table.sharedRefresh(layer, configuration)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func makeSharedRefresh(
        of layer: LayerHandle, values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>
    ) throws {
        try table.makeSharedRefresh(layer, values: values, figures: figures, configuration)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func adoptSharedRefresh(
        of layer: LayerHandle, values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>
    ) throws {
        try table.adoptSharedRefresh(layer, values: values, figures: figures, configuration)
    }
}

extension NGPlusOptimizer.Layer {
    func sharedStatistics(_ configuration: NGPlusConfiguration) -> SharedStatistics {
        guard case let .perSample(curvature) = curvature, isStatisticsStep(configuration) else { return .none }
        if curvature.plan.method == .woodbury { return .gatheredRows(width: curvature.builder.factorWidth) }
        return .summed(count: curvature.gfim.blockStorageCount)
    }

    mutating func withSummedStatistics(_ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        curvature.withPerSample(&update.direction) { curvature, _ in curvature.gfim.forEachBlockStorage(body) }
    }

    var factorRowsInUse: Int {
        guard case let .perSample(curvature) = curvature else { return 0 }
        return curvature.builder.factor?.rank ?? 0
    }

    mutating func withGatheredRows(totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        curvature.withPerSample(&update.direction) { curvature, _ in
            curvature.builder.withGatheredFactor(totalRows: totalRows, body)
        }
    }
    func sharedRefresh(_ configuration: NGPlusConfiguration) -> SharedRefresh? {
        guard case let .perSample(curvature) = curvature, isRefreshStep(configuration),
              let size = curvature.refreshRecordSize else { return nil }
        return SharedRefresh(
            flops: curvature.plan.refreshFlops, values: size.values, figures: size.figures + RefreshRecord.outcomeFigures)
    }

    mutating func makeSharedRefresh(
        values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>, index: Int,
        _ configuration: NGPlusConfiguration, _ operation: NGError.Operation
    ) throws {
        try requireStatistics(index: index, configuration, operation)
        let damping = configuration.dampingRule(for: spec, step: step)
        refreshAhead = try curvature.withPerSample(&update.direction) { (curvature, _) throws(NGError) in
            try curvature.makeRefreshRecord(damping: damping, values: values, figures: figures)
        }
    }

    mutating func adoptSharedRefresh(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) {
        refreshAhead = curvature.withPerSample(&update.direction) { curvature, _ in
            curvature.adoptRefreshRecord(values: values, figures: figures)
        }
    }
}
