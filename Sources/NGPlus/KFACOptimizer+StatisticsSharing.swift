/// K-FAC shares a dense or conv2d layer's two factors, summed, on its statistics steps.
extension KFACOptimizer: StatisticsSharing {
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

extension KFACOptimizer.Layer {
    func sharedStatistics(_ configuration: KFACConfiguration) -> SharedStatistics {
        guard let curvature, usesObservation(configuration) else { return .none }
        return .summed(count: curvature.inputFactor.blockStorageCount + curvature.outputFactor.blockStorageCount)
    }

    mutating func withSummedStatistics(_ body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        curvature?.inputFactor.forEachBlockStorage(body)
        curvature?.outputFactor.forEachBlockStorage(body)
    }
}
