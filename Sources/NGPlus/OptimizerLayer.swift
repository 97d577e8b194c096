/// One registered layer's record, as an optimizer keeps it in its `LayerTable`: what it needs
/// per layer and the steps it takes from arguments the table has already validated.
protocol OptimizerLayer: Sendable {
    associatedtype Scalar: BLASScalar
    /// The optimizer's settings, handed to every step.
    associatedtype Settings: Sendable

    /// What the layer was registered as.
    var spec: LayerSpec { get }

    /// The steps the layer has taken.
    var step: Int { get }

    /// Whether the coming step uses an observation (only then are its values scanned).
    func usesObservation(_ settings: Settings) -> Bool

    /// Takes the statistics of validated inputs and output gradients, all or nothing.
    mutating func observe(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ settings: Settings, _ operation: NGError.Operation
    ) throws(NGError)

    /// One step from a validated gradient, all or nothing; `index` names the layer in errors.
    /// Throws an `NGError`, or `OptimizerError.missingStatistics`.
    mutating func step(
        gradient: Matrix<Scalar>, weight: inout Matrix<Scalar>, index: Int, _ settings: Settings,
        _ operation: NGError.Operation
    ) throws

    /// One step of a dense layer from validated inputs and output gradients, all or nothing.
    mutating func fusedStep(
        inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, bias: Bool, weight: inout Matrix<Scalar>,
        index: Int, _ settings: Settings, _ operation: NGError.Operation
    ) throws

    /// One sparse step of an embedding table from validated lookups and output gradients, all
    /// or nothing.
    mutating func sparseStep(
        lookups: [Int], outputGradients: Matrix<Scalar>, table: inout Matrix<Scalar>, index: Int, _ settings: Settings,
        _ operation: NGError.Operation
    ) throws

    /// What a data-parallel run shares of the coming step's statistics (`StatisticsSharing`);
    /// first-order layers take the default, nothing.
    func sharedStatistics(_ settings: Settings) -> SharedStatistics

    /// Visits the summed statistics' buffers in place (`.summed` only).
    mutating func withSummedStatistics(_ body: (UnsafeMutableBufferPointer<Scalar>) -> Void)

    /// The rows of this process's low-rank factor (`.gatheredRows` only; 0 otherwise).
    var factorRowsInUse: Int { get }

    /// Visits the low-rank factor grown to `totalRows` rows (`.gatheredRows` only).
    mutating func withGatheredRows(totalRows: Int, _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void)

    /// The coming step's refresh when one process makes it for all (`StatisticsSharing`).
    func sharedRefresh(_ settings: Settings) -> SharedRefresh?

    /// Makes the coming step's refresh ahead of it and writes its record (the owner).
    mutating func makeSharedRefresh(
        values: UnsafeMutableBufferPointer<Scalar>, figures: UnsafeMutableBufferPointer<Double>, index: Int, _ settings: Settings,
        _ operation: NGError.Operation
    ) throws

    /// Adopts the owner's record as the coming step's refresh.
    mutating func adoptSharedRefresh(values: UnsafeBufferPointer<Scalar>, figures: UnsafeBufferPointer<Double>)

    /// The layer's state (the spec is saved by the table).
    func encode(to writer: inout StateWriter)

    /// Restores what `encode` wrote; the table discards the layer on a throw.
    mutating func restore(from reader: inout StateReader) throws(NGError)
}
