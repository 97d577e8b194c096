/// NG+ shares a dense or conv2d layer's statistics on its statistics steps: the explicit GFIM
/// (every diagonal block) summed, or a Woodbury plan's factor rows gathered.
extension NGPlusOptimizer: StatisticsSharing {
    public func sharedStatistics(of layer: LayerHandle) -> SharedStatistics {
        table.sharedStatistics(layer, configuration)
    }

    public mutating func withSummedStatistics(
        of layer: LayerHandle, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void
    ) {
        table.withSummedStatistics(layer, body)
    }

    public mutating func withGatheredRows(
        of layer: LayerHandle, totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void
    ) {
        table.withGatheredRows(layer, totalRows: totalRows, body)
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

    mutating func withGatheredRows(totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        curvature.withPerSample(&update.direction) { curvature, _ in
            curvature.builder.withGatheredFactor(totalRows: totalRows, body)
        }
    }
}
