import Foundation

/// The registered layers of a `LayerwiseOptimizer`: handles, every check a public entry point
/// makes (here, once, before a layer is touched), the one step algorithm (validate → stage →
/// check → commit), and the saved state (a layer count, then per layer its spec, compared on load, and its own state,
/// sealed by `StateFile`).
struct LayerTable<Layer: LayerRecord>: Sendable {
    typealias Scalar = Layer.Scalar
    private(set) var layers: [Layer] = []
    /// The optimizer's name in saved states and errors.
    let stateKind: String
    /// The operation names errors carry, made once: interpolating them per call would allocate
    /// on every step.
    let observeOperation: NGError.Operation
    let stepOperation: NGError.Operation
    let loadOperation: NGError.Operation
    let shareOperation: NGError.Operation
    /// What a step does with non-finite input or an overflowing update (not saved).
    var nonFinitePolicy = NonFiniteStepPolicy.throwError
    /// Per layer: the steps skipped under `.skipStep` (not saved).
    private(set) var skippedSteps: [Int] = []
    /// Per layer: whether its coming step's observation was dropped as non-finite.
    private var droppedObservation: [Bool] = []

    init(stateKind: String) {
        self.stateKind = stateKind
        observeOperation = NGError.Operation("\(stateKind).observe")
        stepOperation = NGError.Operation("\(stateKind).step")
        loadOperation = NGError.Operation("\(stateKind).load")
        shareOperation = NGError.Operation("\(stateKind).statisticsSharing")
    }

    /// The handle of a new layer.
    mutating func append(_ layer: Layer) -> LayerHandle {
        layers.append(layer)
        skippedSteps.append(0)
        droppedObservation.append(false)
        return LayerHandle(index: layers.count - 1)
    }

    /// The record of `handle`, or `unknownLayer`.
    func layer(_ handle: LayerHandle, _ operation: NGError.Operation) throws(OptimizerError) -> Layer {
        layers[try StepValidation.index(of: handle, count: layers.count, operation)]
    }

    func usesObservation(_ handle: LayerHandle, _ settings: Layer.Settings) -> Bool {
        guard layers.indices.contains(handle.index) else { return true }
        return layers[handle.index].usesObservation(settings)
    }

    /// `LayerOptimizer.observe`: shapes always checked, values scanned when the step uses them.
    mutating func observe(
        _ handle: LayerHandle, inputs: Matrix<Scalar>, outputGradients: Matrix<Scalar>, _ settings: Layer.Settings
    ) throws {
        try observe(handle, settings) { (layer, used, operation) throws(NGError) in
            try StepValidation.observation(
                layer.spec, inputs: inputs, outputGradients: outputGradients, operation, finite: used)
            guard used else { return }
            try layer.observe(inputs: inputs, outputGradients: outputGradients, settings, operation)
        }
    }

    func takesSampleGradients(_ handle: LayerHandle, _ settings: Layer.Settings) -> Bool {
        layers.indices.contains(handle.index) && layers[handle.index].takesSampleGradients(settings)
    }

    /// `LayerOptimizer.observe(_:sampleGradients:)`: refused unless the layer takes them now;
    /// shape and values checked.
    mutating func observe(_ handle: LayerHandle, sampleGradients: Matrix<Scalar>, _ settings: Layer.Settings) throws {
        try observe(handle, settings) { (layer, _, operation) throws(NGError) in
            try operation.require(
                layer.takesSampleGradients(settings), "sampleGradients",
                "this layer's coming step does not take per-sample gradients (see takesSampleGradients)")
            try StepValidation.sampleGradients(layer.spec, sampleGradients, operation)
            try layer.observe(sampleGradients: sampleGradients, settings, operation)
        }
    }

    /// An observation of layer `handle`: `body` checks and takes it (told whether the coming
    /// step uses one); under `.skipStep` a non-finite one is dropped and the step skipped.
    private mutating func observe(
        _ handle: LayerHandle, _ settings: Layer.Settings,
        _ body: (inout Layer, Bool, NGError.Operation) throws(NGError) -> Void
    ) throws {
        let operation = observeOperation
        let i = try StepValidation.index(of: handle, count: layers.count, operation)
        let used = layers[i].usesObservation(settings)
        do {
            try body(&layers[i], used, operation)
            if used { droppedObservation[i] = false }
        } catch {
            guard skips(error) else { throw error }
            droppedObservation[i] = true
        }
    }

    /// `LayerOptimizer.step(_:weight:gradient:)`, and `StatisticsSharing.step(_:weight:gradient:refresh:)`
    /// with a refresh prepared for this step.
    mutating func step(
        _ handle: LayerHandle, weight: inout Matrix<Scalar>, gradient: Matrix<Scalar>, _ settings: Layer.Settings,
        refresh: PreparedRefresh? = nil
    ) throws {
        let operation = stepOperation
        let i = try StepValidation.index(of: handle, count: layers.count, operation)
        if let refresh, refresh.layer != handle || refresh.step != layers[i].step {
            throw NGError.invalidArgument(
                operation: operation, argument: "refresh",
                reason: "was prepared for \(refresh.layer)'s step \(refresh.step), not \(handle)'s step \(layers[i].step)")
        }
        try StepValidation.requireNotEmbedding(layers[i].spec, operation)
        try StepValidation.parameterShape(layers[i].spec, weight, "weight", operation)
        do {
            try StepValidation.parameterShape(layers[i].spec, gradient, "gradient", operation)
            // A skip for a dropped observation does not stage: a bad gradient is named first.
            if droppedObservation[i] { try StepValidation.parameterValues(gradient, "gradient", operation) }
            if try skipsDroppedObservation(i, weight: weight) { return }
            do {
                try layers[i].stage(
                    .matrix(gradient), weight: weight, refresh: refresh?.ahead, index: i, settings, operation)
            } catch {
                // Every value of G enters the new weight (NaN·0 and ∞·0 are NaN): scanned only
                // when the stage failed, to name it, as the weight is (`refusedStep`).
                try StepValidation.parameterValues(gradient, "gradient", operation)
                throw error
            }
            layers[i].commit(weight: &weight)
        } catch {
            try refusedStep(i, error, weight: weight, operation)
        }
    }

    /// `LayerOptimizer.step(_:weight:inputs:outputGradients:)`.
    mutating func step(
        _ handle: LayerHandle, weight: inout Matrix<Scalar>, inputs: Matrix<Scalar>,
        outputGradients: Matrix<Scalar>, _ settings: Layer.Settings
    ) throws {
        let operation = stepOperation
        let i = try StepValidation.index(of: handle, count: layers.count, operation)
        let bias = try StepValidation.denseLayer(layers[i].spec, operation)
        try StepValidation.parameterShape(layers[i].spec, weight, "weight", operation)
        do {
            try StepValidation.denseShapes(layers[i].spec, inputs: inputs, outputGradients: outputGradients, operation)
            if try skipsDroppedObservation(i, weight: weight) { return }
            do {
                try layers[i].stage(
                    .dense(inputs: inputs, outputGradients: outputGradients, bias: bias), weight: weight, refresh: nil,
                    index: i, settings, operation)
            } catch {
                // Every value of X and dY enters a product of the step (NaN·0 and ∞·0 are NaN), so
                // a non-finite one makes a non-finite new weight, which the stage refuses: the
                // inputs are scanned only then, to name them in the error — not every step,
                // where the scan was a pass over B·(n + m) values beside a GEMM over them.
                try StepValidation.denseValues(inputs: inputs, outputGradients: outputGradients, operation)
                throw error
            }
            layers[i].commit(weight: &weight)
        } catch {
            try refusedStep(i, error, weight: weight, operation)
        }
    }

    /// `LayerOptimizer.step(_:table:lookups:outputGradients:)`.
    mutating func step(
        _ handle: LayerHandle, table: inout Matrix<Scalar>, lookups: [Int], outputGradients: Matrix<Scalar>,
        _ settings: Layer.Settings
    ) throws {
        let operation = stepOperation
        let i = try StepValidation.index(of: handle, count: layers.count, operation)
        do {
            try StepValidation.embeddingStep(
                layers[i].spec, table: table, lookups: lookups, outputGradients: outputGradients, operation)
            try layers[i].sparseStep(
                lookups: lookups, outputGradients: outputGradients, table: &table, index: i, settings, operation)
        } catch let fault as NonFiniteTableRow {
            throw fault.error
        } catch {
            guard skips(error) else { throw error }
            countSkip(i)
        }
    }

    /// Whether `nonFinitePolicy` skips what `error` reports: a non-finite value, under
    /// `.skipStep`. A non-finite weight is never skipped (`refusedStep`; a table's looked-up
    /// rows throw `NonFiniteTableRow`). A call that throws has changed nothing, so a skip needs
    /// no undoing.
    func skips(_ error: any Error) -> Bool {
        guard nonFinitePolicy == .skipStep, case .nonFinite? = error as? NGError else { return false }
        return true
    }

    /// A dense, convolution, matrix or vector step of layer `i` that failed with `error`:
    /// throws the weight's own `nonFinite` when the weight is not finite — never skipped, and
    /// named before any other fault of the step, as if it had been checked first — else skips
    /// and counts the step when the policy skips `error`, else throws it. The weight is scanned
    /// only here: every one of its values enters the new weight `keep·W − rate·U` that every
    /// stage checks (NaN·0 and ∞·0 are NaN), so a finite new weight proves it finite, and a
    /// step's pass over it is saved.
    mutating func refusedStep(
        _ i: Int, _ error: any Error, weight: Matrix<Scalar>, _ operation: NGError.Operation
    ) throws {
        try StepValidation.parameterValues(weight, "weight", operation)
        guard skips(error) else { throw error }
        countSkip(i)
    }

    /// Skips and counts the step of layer `i` when its observation was dropped. Called after
    /// the step's shapes were checked, and scans the weight first: a skip never hides a bad
    /// weight or a wrong shape.
    mutating func skipsDroppedObservation(_ i: Int, weight: Matrix<Scalar>) throws(NGError) -> Bool {
        guard droppedObservation[i] else { return false }
        try StepValidation.parameterValues(weight, "weight", stepOperation)
        countSkip(i)
        return true
    }

    /// Counts a skipped step of layer `i`; the skipped step was the one a dropped observation
    /// was meant for, so that observation is forgotten too.
    mutating func countSkip(_ i: Int) {
        droppedObservation[i] = false
        skippedSteps[i] += 1
    }

    /// The steps of `handle` skipped under `.skipStep`, or `unknownLayer`.
    func skippedSteps(of handle: LayerHandle, _ operation: NGError.Operation) throws(OptimizerError) -> Int {
        skippedSteps[try StepValidation.index(of: handle, count: layers.count, operation)]
    }

    /// `StatisticsSharing.sharedStatistics(of:)`.
    func sharedStatistics(_ handle: LayerHandle, _ settings: Layer.Settings) -> SharedStatistics {
        guard layers.indices.contains(handle.index) else { return .none }
        return layers[handle.index].sharedStatistics(settings)
    }

    /// `StatisticsSharing.withSummedStatistics(of:_:)`: `unknownLayer`, or `invalidArgument`
    /// when the layer's coming step sums no statistics.
    mutating func withSummedStatistics(
        _ handle: LayerHandle, _ settings: Layer.Settings, _ body: (inout MutableSpan<Scalar>) -> Void
    ) throws {
        let i = try StepValidation.index(of: handle, count: layers.count, shareOperation)
        guard layers[i].sharedStatistics(settings).sums else {
            throw refusal("its coming step sums no statistics")
        }
        layers[i].withSummedStatistics(body)
    }

    /// `StatisticsSharing.withGatheredRows(of:totalRows:_:)`: `unknownLayer`, or
    /// `invalidArgument` when the layer's coming step gathers no rows or `totalRows` is fewer
    /// than its own.
    mutating func withGatheredRows(
        _ handle: LayerHandle, totalRows: Int, _ settings: Layer.Settings,
        _ body: (inout MutableSpan<Scalar>) -> Void
    ) throws {
        let i = try StepValidation.index(of: handle, count: layers.count, shareOperation)
        guard layers[i].sharedStatistics(settings).gathers else {
            throw refusal("its coming step gathers no factor rows")
        }
        let local = layers[i].factorRowsInUse
        try shareOperation.require(
            totalRows >= max(local, 1), "totalRows", "\(totalRows) rows cannot hold this process's \(local)")
        layers[i].withGatheredRows(totalRows: totalRows, body)
    }

    /// `StatisticsSharing.sharedRefresh(of:)`.
    func sharedRefresh(_ handle: LayerHandle, _ settings: Layer.Settings) -> SharedRefresh? {
        guard layers.indices.contains(handle.index) else { return nil }
        return layers[handle.index].sharedRefresh(settings)
    }

    /// `StatisticsSharing.makeSharedRefresh(of:values:figures:)`.
    mutating func makeSharedRefresh(
        _ handle: LayerHandle, values: inout MutableSpan<Scalar>, figures: inout MutableSpan<Double>,
        _ settings: Layer.Settings
    ) throws -> PreparedRefresh {
        let i = try StepValidation.index(of: handle, count: layers.count, stepOperation)
        try requireRecordSizes(i, values: values.count, figures: figures.count, settings)
        let ahead = try layers[i].makeSharedRefresh(values: &values, figures: &figures, index: i, settings, stepOperation)
        return PreparedRefresh(layer: handle, step: layers[i].step, ahead: ahead)
    }

    /// `StatisticsSharing.adoptSharedRefresh(of:values:figures:)`: `unknownLayer`, or
    /// `invalidArgument` when no shared refresh is due or the record's sizes are not its.
    mutating func adoptSharedRefresh(
        _ handle: LayerHandle, values: Span<Scalar>, figures: Span<Double>,
        _ settings: Layer.Settings
    ) throws -> PreparedRefresh {
        let i = try StepValidation.index(of: handle, count: layers.count, shareOperation)
        try requireRecordSizes(i, values: values.count, figures: figures.count, settings)
        let ahead = layers[i].adoptSharedRefresh(values: values, figures: figures)
        return PreparedRefresh(layer: handle, step: layers[i].step, ahead: ahead)
    }

    /// A shared refresh is due for layer `i`, and a record of `values` and `figures` is its size.
    func requireRecordSizes(_ i: Int, values: Int, figures: Int, _ settings: Layer.Settings) throws(NGError) {
        guard let refresh = layers[i].sharedRefresh(settings) else {
            throw refusal("no refresh one process makes for all is due on its coming step")
        }
        try shareOperation.require(
            values == refresh.values && figures == refresh.figures, "values, figures",
            "a record of \(values) values and \(figures) figures where the refresh has \(refresh.values) and \(refresh.figures)")
    }

    /// The error of a sharing call the layer's coming step does not make.
    func refusal(_ reason: String) -> NGError {
        .invalidArgument(operation: shareOperation, argument: "layer", reason: reason)
    }

    /// The settings as saved with a state: JSON with sorted keys.
    static func settingsText(_ settings: Layer.Settings) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(settings)) ?? Data(), as: UTF8.self)
    }

    /// Saved settings as today's settings text: decoded (a setting added since takes its
    /// `DecodingDefault`) and encoded again; the saved text itself when it does not decode.
    static func canonicalSettingsText(_ saved: String) -> String {
        guard let settings = try? JSONDecoder().decode(Layer.Settings.self, from: Data(saved.utf8)) else { return saved }
        return settingsText(settings)
    }

    /// The sealed state of every layer, with the optimizer's settings.
    func stateBytes(_ settings: Layer.Settings) -> [UInt8] {
        var writer = StateWriter()
        writer.write(layers.count)
        for layer in layers {
            writer.write(specDescription(layer.spec))
            layer.encode(to: &writer)
        }
        return StateFile.seal(
            payload: writer.bytes, optimizer: stateKind, scalar: "\(Scalar.self)", settings: Self.settingsText(settings))
    }

    /// Restores a state saved by `stateBytes` with the same settings and layers, all or
    /// nothing: the settings, the count, each spec and the end of the bytes are checked.
    mutating func restore(stateBytes: [UInt8], _ settings: Layer.Settings) throws(NGError) {
        var reader = try StateFile.open(
            stateBytes, optimizer: stateKind, scalar: "\(Scalar.self)", settings: Self.settingsText(settings),
            oldestVersion: Layer.oldestStateVersion, operation: loadOperation, canonical: Self.canonicalSettingsText)
        var restored = layers
        let count = try reader.readInt()
        guard count == restored.count else { throw reader.fail("\(count) layers saved, \(restored.count) registered") }
        for i in restored.indices {
            let saved = try reader.readString()
            let expected = specDescription(restored[i].spec)
            guard saved == expected else { throw reader.fail("a layer saved as \(saved) where \(expected) is registered") }
            try restored[i].restore(from: &reader)
        }
        guard reader.isAtEnd else { throw reader.fail("unexpected bytes after the last layer") }
        layers = restored
    }
}

/// A stable text form of a layer spec, saved with its state and compared on load.
package func specDescription(_ spec: LayerSpec) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: (try? encoder.encode(spec)) ?? Data(), as: UTF8.self)
}

extension StateReader {
    /// A step count: a non-negative integer.
    mutating func readStepCount() throws(NGError) -> Int {
        let step = try readInt()
        guard step >= 0 else { throw fail("a negative step count \(step)") }
        return step
    }
}
