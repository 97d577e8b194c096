import NGPlus

/// A local optimizer seen as one process of a data-parallel run, for the trainers' and layers'
/// synchronized paths: `localRows` as set, `crossProcessSums` as given (nil: none), nothing
/// synchronized — every step is `base`'s own step from what the layer submitted.
struct ShareOfBatch<Base: LayerOptimizer>: SynchronizedOptimizer {
    typealias Scalar = Base.Scalar
    var base: Base
    var localRows: Range<Int>
    var crossProcessSums: (any CrossProcessSums)?

    init(_ base: Base, localRows: Range<Int>, crossProcessSums: (any CrossProcessSums)? = nil) {
        self.base = base
        self.localRows = localRows
        self.crossProcessSums = crossProcessSums
    }

    mutating func register(_ layer: LayerSpec) throws(NGError) -> LayerHandle { try base.register(layer) }
    func usesObservation(_ layer: LayerHandle) -> Bool { false }
    func observe(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) {}
    func submit(_ layer: LayerHandle, gradient: Matrix<Scalar>) {}
    func submit(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) {}
    func submit(_ layer: LayerHandle, lookups: [Int], outputGradients: Matrix<Scalar>) {}
    func synchronize(loss: Double) -> Double { loss }

    mutating func step(_ layer: LayerHandle, weight: inout Matrix<Scalar>, submitted: SubmittedGradient<Scalar>) throws {
        switch submitted {
        case let .gradient(gradient): try base.step(layer, weight: &weight, gradient: gradient)
        case let .dense(inputs, outputGradients):
            try base.step(layer, weight: &weight, inputs: inputs, outputGradients: outputGradients)
        case let .lookups(lookups, outputGradients):
            try base.step(layer, table: &weight, lookups: lookups, outputGradients: outputGradients)
        }
    }
}
