import NGPlus

/// A local optimizer seen as one process of a data-parallel run, for the trainers' and layers'
/// synchronized paths: `localRows` as set, `crossProcessSums` as given (nil: none), nothing
/// synchronized — every step is `base`'s own step from what the layer submitted. Observations
/// are dropped, or with `observes` handed on — a convolution's per-sample gradients only when
/// `handsSampleGradients` too, and counted.
struct ShareOfBatch<Base: LayerOptimizer>: SynchronizedOptimizer {
    typealias Scalar = Base.Scalar
    var base: Base
    var localRows: Range<Int>
    var crossProcessSums: (any CrossProcessSums)?
    let observes: Bool
    let handsSampleGradients: Bool
    private(set) var sampleGradientObservations = 0
    /// The last per-sample gradients handed on.
    private(set) var lastSampleGradients = Matrix<Scalar>(rows: 0, columns: 0)

    init(
        _ base: Base, localRows: Range<Int>, crossProcessSums: (any CrossProcessSums)? = nil, observes: Bool = false,
        handsSampleGradients: Bool = false
    ) {
        self.base = base
        self.localRows = localRows
        self.crossProcessSums = crossProcessSums
        self.observes = observes
        self.handsSampleGradients = handsSampleGradients
    }

    mutating func register(_ layer: LayerSpec) throws(NGError) -> LayerHandle { try base.register(layer) }
    func usesObservation(_ layer: LayerHandle) -> Bool { observes && base.usesObservation(layer) }

    mutating func observe(_ layer: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>) throws {
        if observes { try base.observe(layer, inputs: inputs, outputGradients: outputGradients) }
    }

    func takesSampleGradients(_ layer: LayerHandle) -> Bool {
        observes && handsSampleGradients && base.takesSampleGradients(layer)
    }

    mutating func observe(_ layer: LayerHandle, sampleGradients: Matrix<Scalar>) throws {
        try base.observe(layer, sampleGradients: sampleGradients)
        sampleGradientObservations += 1
        lastSampleGradients = sampleGradients
    }
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
