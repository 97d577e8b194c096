import Foundation
import NGPlus

/// A dense layer `Y = X·Wᵀ + b`, its parameter one matrix `W̃ = [W | b]` (outputs × (inputs + 1)),
/// He-initialised (bias 0). Both passes read W̃ in place (leading dimension inputs + 1): the
/// forward pass is a GEMM (one call on the calling thread for a small one, in parts on the
/// cores for a larger: `NetworkKernels.denseForward`); the input gradient `dY·W` is made of
/// tile products (`BLASScalar.tileProduct`; one GEMM call below 16 inputs,
/// `DenseGradient.narrowInputs`), the batch's rows split over the cores (W's columns where W is
/// the larger operand) — W is their B as it is stored, and OpenBLAS, which packs both operands
/// first, measured 16% slower on the language model's layers (Zen 4, 2 threads:
/// docs/measurements/cnn-by-sample-2026-12-06.md). The weight gradient is left to the
/// optimizer, which gets X and dY (NG+ then never forms it: the fused apply).
public final class Dense<Scalar: NetworkScalar>: TrainableLayer, ResidualOutputFusing {
    public let outputs: Int
    public let inputs: Int
    public var weight: Matrix<Scalar>
    public var handle = LayerHandle.unregistered
    /// False for a first layer, whose input gradient nobody needs.
    public let computesInputGradient: Bool
    /// Rows of the layer's input for each sample of the model (a SchNet filter network's atom
    /// pairs); it scales the layer's flop account and nothing else.
    public let rowsPerSample: Int
    var input = Matrix<Scalar>(rows: 0, columns: 0)
    var outputGradient = Matrix<Scalar>(rows: 0, columns: 0)
    var output = Matrix<Scalar>(rows: 0, columns: 0)
    var inputGradient = Matrix<Scalar>(rows: 0, columns: 0)

    /// - Throws: `invalidArgument` for a size below 1 (`rowsPerSample` too), a parameter of more
    ///   than `Int32.max` values, or one larger than this machine's memory.
    public init(
        inputs: Int, outputs: Int, computesInputGradient: Bool = true, rowsPerSample: Int = 1,
        using generator: inout SeededGenerator
    ) throws(NGError) {
        try LayerSpec.dense(outputs: outputs, inputs: inputs, bias: true).validate(.denseInit)
        try NGError.Operation.denseInit.require(rowsPerSample >= 1, "rowsPerSample", "must be at least 1, got \(rowsPerSample)")
        try Self.memory(inputs: inputs, outputs: outputs).check(.denseInit, argument: "inputs, outputs")
        self.inputs = inputs
        self.outputs = outputs
        self.computesInputGradient = computesInputGradient
        self.rowsPerSample = rowsPerSample
        let scale = (2 / Double(inputs)).squareRoot()
        weight = .normal(rows: outputs, columns: inputs + 1, drawnColumns: inputs, deviation: scale, using: &generator)
    }

    /// What the layer allocates when made: `W̃`.
    static func memory(inputs: Int, outputs: Int) -> MemoryRequirement {
        .of("a \(outputs) × \(inputs + 1) dense weight", elements: Double(outputs) * (Double(inputs) + 1), Scalar.self)
    }

    public var spec: LayerSpec { .dense(outputs: outputs, inputs: inputs, bias: true) }

    public var flops: LayerFlops {
        .dense(inputs: inputs, outputs: outputs, inputGradient: computesInputGradient, rowsPerSample: rowsPerSample)
    }

    public func forward(_ x: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try forward(x, adding: Optional<Matrix<Scalar>>.none)
    }

    /// `X·Wᵀ + b + residual`, the residual added where the output rows start (see
    /// `NetworkKernels.denseForward`).
    public func forward(_ x: Matrix<Scalar>, adding residual: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try forward(x, adding: Optional(residual))
    }

    /// Both forward passes: everything checked before anything changes.
    func forward(_ x: Matrix<Scalar>, adding residual: Matrix<Scalar>?) throws(NGError) -> Matrix<Scalar> {
        try x.requireShape(Shape(x.rows, inputs), .denseForward, "input")
        try residual?.requireShape(Shape(x.rows, outputs), .denseForward, "residual")
        ensureShape(&output, x.rows, outputs)
        input = x
        guard x.rows > 0 else { return output }
        withViews(x, weight, mutating: &output) { x, w, y in
            guard let residual else { return NetworkKernels.denseForward(x, weight: w, into: y) }
            residual.withView { r in NetworkKernels.denseForward(x, weight: w, adding: r, into: y) }
        }
        return output
    }

    public func backward(_ dy: Matrix<Scalar>) throws(NGError) -> Matrix<Scalar> {
        try dy.requireShape(Shape(input.rows, outputs), .denseBackward, "outputGradient")
        outputGradient = dy
        guard computesInputGradient else { return inputGradient }
        let (batch, n, m) = (dy.rows, inputs, outputs)
        ensureShape(&inputGradient, batch, n)
        withViews(dy, weight, mutating: &inputGradient) { dy, w, dx in
            guard n >= DenseGradient.narrowInputs else {
                // Tile products take fewer than 16 columns one at a time: one GEMM on one thread.
                OpenBLAS.withOneThreadPerCall { BLAS.gemm(dy, w.columns(0..<n), into: dx) }
                return
            }
            // dX[rows, columns] = dY[rows, :]·W[:, columns], each element one sum in order however
            // the cores split the rows or the columns.
            func product(rows: Range<Int>, columns: Range<Int>) {
                Scalar.tileProduct(
                    rows: rows.count, columns: columns.count, inner: 0..<m,
                    a: dy.base + rows.lowerBound * dy.leadingDimension, rowStride: dy.leadingDimension, innerStride: 1,
                    b: w.base + columns.lowerBound, ldb: w.leadingDimension, alpha: 1, beta: 0,
                    into: dx.base + rows.lowerBound * dx.leadingDimension + columns.lowerBound, ldc: dx.leadingDimension)
            }
            // Each thread reads all of one operand and its share of the other: the rows split dY,
            // the columns W. The larger is split, the columns in units of 64 (a CNN's 128 × 3,136
            // weight at batch 128).
            guard batch < n else {
                // A thread takes at least 64 rows and 2²⁰ multiply-adds.
                let minimumRows = Swift.max(64, (1 << 20) / Swift.max(1, n * m))
                ParallelLoop.forEachChunk(batch, minimumChunk: minimumRows) { rows in product(rows: rows, columns: 0..<n) }
                return
            }
            DenseGradient.forEachColumnChunk(n, multiplyAddsPerColumn: m * batch) { columns in
                product(rows: 0..<batch, columns: columns)
            }
        }
        return inputGradient
    }

    public func submit<O: SynchronizedOptimizer>(to optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.observe(handle, inputs: input, outputGradients: outputGradient)
        try optimizer.submit(handle, inputs: input, outputGradients: outputGradient)
    }

    public func step<O: SynchronizedOptimizer>(with optimizer: inout O) throws where O.Scalar == Scalar {
        try optimizer.step(handle, weight: &weight, submitted: .dense(inputs: input, outputGradients: outputGradient))
    }

    public func release() {
        input = Matrix(rows: 0, columns: 0)
        outputGradient = Matrix(rows: 0, columns: 0)
    }
}
