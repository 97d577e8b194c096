/// K-FAC shares a dense or conv2d layer's two factors, summed, on its statistics steps.
extension KFACOptimizer: StatisticsSharing {
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

extension KFACOptimizer.Layer {
    func sharedStatistics(_ configuration: KFACConfiguration) -> SharedStatistics {
        guard let curvature, usesObservation(configuration) else { return .none }
        return .summed(count: curvature.inputFactor.blockStorageCount + curvature.outputFactor.blockStorageCount)
    }

    mutating func withSummedStatistics(_ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        curvature?.inputFactor.forEachBlockStorage(body)
        curvature?.outputFactor.forEachBlockStorage(body)
    }

    func sharedRefresh(_ configuration: KFACConfiguration) -> SharedRefresh? {
        guard let curvature, isRefreshStep(configuration), let size = curvature.refreshRecordSize else { return nil }
        let (input, output) = (Double(curvature.inputFactor.dimension), Double(curvature.outputFactor.dimension))
        return SharedRefresh(
            flops: input * input * input + output * output * output, values: size.values,
            figures: size.figures + RefreshRecord.outcomeFigures)
    }

    mutating func makeSharedRefresh(
        values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>, index: Int,
        _ configuration: KFACConfiguration, _ operation: NGError.Operation
    ) throws {
        try requireStatistics(index: index, configuration, operation)
        let damping = dampingRule(configuration)
        refreshAhead = try curvature?.makeRefreshRecord(damping: damping, values: values, figures: figures)
    }

    mutating func adoptSharedRefresh(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>) {
        refreshAhead = curvature?.adoptRefreshRecord(values: values, figures: figures)
    }
}
