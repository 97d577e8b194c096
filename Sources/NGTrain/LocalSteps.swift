import NGPlus

/// A `LayerOptimizer` seen as a `SynchronizedOptimizer` with nothing to synchronize, so that
/// a model trains on one process through the same path as on many: `observe` goes through,
/// `submit` keeps nothing (the layer hands the same gradient to `step`), `synchronize` returns
/// the loss, and `step` is the optimizer's own step from what the layer submitted. It borrows
/// the optimizer for one training step (`Model.trainStep(_:labels:optimizer:)`).
struct LocalSteps<Base: LayerOptimizer>: SynchronizedOptimizer {
    typealias Scalar = Base.Scalar
    /// The optimizer, borrowed for the call that made this value and never kept past it.
    let base: UnsafeMutablePointer<Base>
    let localRows: Range<Int>

    func register(_ layer: LayerSpec) throws(NGError) -> LayerHandle {
        try base.pointee.register(layer)
    }

    func usesObservation(_ layer: LayerHandle) -> Bool {
        base.pointee.usesObservation(layer)
    }

    func observe(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws {
        try base.pointee.observe(layer, inputs: inputs, outputGradients: outputGradients)
    }

    func takesSampleGradients(_ layer: LayerHandle) -> Bool {
        base.pointee.takesSampleGradients(layer)
    }

    func observe(_ layer: LayerHandle, sampleGradients: Matrix<Scalar>) throws {
        try base.pointee.observe(layer, sampleGradients: sampleGradients)
    }

    /// Nothing to keep: the optimizer checks the gradient when the layer hands it to `step`.
    func submit(_ layer: LayerHandle, gradient: Matrix<Scalar>) {}

    func submit(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) {}

    func submit(_ layer: LayerHandle, lookups: [Int], outputGradients: Matrix<Scalar>) {}

    func synchronize(loss: Double) -> Double { loss }

    func step(_ layer: LayerHandle, weight: inout Matrix<Scalar>, submitted: SubmittedGradient<Scalar>) throws {
        switch submitted {
        case let .gradient(gradient):
            try base.pointee.step(layer, weight: &weight, gradient: gradient)
        case let .dense(inputs, outputGradients):
            try base.pointee.step(layer, weight: &weight, inputs: inputs, outputGradients: outputGradients)
        case let .lookups(lookups, outputGradients):
            try base.pointee.step(layer, table: &weight, lookups: lookups, outputGradients: outputGradients)
        }
    }
}

extension TrainableLayer {
    /// This layer's update by a local optimizer from its last backward, as
    /// `Model.trainStep(_:labels:optimizer:)` makes it: `submit`, then `step`.
    public func update<O: LayerOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try withUnsafeMutablePointer(to: &optimizer) { base in
            var local = LocalSteps(base: base, localRows: 0..<0)
            try submit(to: &local)
            try step(with: &local)
        }
    }
}
