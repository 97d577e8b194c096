import NGKernels
import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// `NetworkKernels.longRowProducts`: split over groups of the rows' length (40,000 values,
/// three groups) against plain Double sums — Float within its rounding bound, Double to
/// 1e-13 — the same bits on one thread and on two, and a first convolution's weight gradient at
/// a batch that splits, Float against Double.
@Suite(.serialized) struct LongRowProductsTests {
    func products<Scalar: NetworkScalar>(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>) -> Matrix<Scalar> {
        let shape = NetworkKernels.rowProductPartialShape(m: a.rows, n: b.rows, length: a.columns)
        var partials = Matrix<Scalar>(rows: shape.rows, columns: shape.columns)
        var c = Matrix<Scalar>(rows: a.rows, columns: b.rows)
        a.withView { a in
            b.withView { b in
                partials.withMutableView { p in c.withMutableView { NetworkKernels.longRowProducts(a, b, partials: p, into: $0) } }
            }
        }
        return c
    }

    @Test func splitProductsMatchPlainSumsOnAnyThreadCount() {
        var generator = SeededGenerator(seed: 62)
        let (m, n, length) = (5, 3, 40_000)
        #expect(NetworkKernels.splitsRowProducts(m: m, n: n, length: length))
        let a = Matrix<Double>.random(rows: m, columns: length, using: &generator)
        let b = Matrix<Double>.random(rows: n, columns: length, using: &generator)
        let (af, bf) = (Self.float(a), Self.float(b))
        ParallelLoop.threadCountOverride.store(1, ordering: .relaxed)
        let one = products(af, bf)
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        let two = products(af, bf)
        #expect(one.elements == two.elements)
        let double = products(a, b)
        for i in 0..<m {
            for j in 0..<n {
                let terms = (0..<length).map { Double(af[i, $0]) * Double(bf[j, $0]) }
                let bound = Double(length + 16) * 0x1p-24 * terms.map(abs).reduce(0, +)
                #expect(abs(Double(two[i, j]) - terms.reduce(0, +)) <= bound)
                let exact = (0..<length).map { a[i, $0] * b[j, $0] }
                #expect(abs(double[i, j] - exact.reduce(0, +)) <= 1e-13 * exact.map(abs).reduce(0, +))
            }
        }
    }

    /// 300 images of 8 × 8 through a 3 × 3 convolution to 4 channels: the weight gradient sums
    /// 19,200 positions, split; Float against Double from the same values (each read back as
    /// the change of an SGD step of rate 1).
    @Test func aConvolutionsWeightGradientSplitsOverItsPositions() throws {
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        let geometry = try ConvGeometry(inChannels: 1, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(NetworkKernels.splitsRowProducts(m: 4, n: 10, length: 300 * geometry.positions))
        var generator = SeededGenerator(seed: 63)
        let float = try Conv2d<Float>(geometry: geometry, outChannels: 4, computesInputGradient: false, using: &generator)
        let double = try Conv2d<Double>(geometry: geometry, outChannels: 4, computesInputGradient: false, using: &generator)
        double.weight = Self.double(float.weight)
        let x = Matrix<Float>.random(rows: 300, columns: geometry.inputLength, using: &generator)
        let dy = Matrix<Float>.random(rows: 300, columns: float.outputLength, using: &generator)
        _ = try float.forward(x)
        _ = try float.backward(dy)
        _ = try double.forward(Self.double(x))
        _ = try double.backward(Self.double(dy))
        let (got, want) = (try Self.weightGradient(float), try Self.weightGradient(double))
        let scale = want.elements.map(abs).max() ?? 1
        for (g, w) in zip(got.elements, want.elements) {
            #expect(abs(Double(g) - w) <= 1e-4 * scale, "\(g) against \(w)")
        }
    }

    /// The gradient a layer hands its optimizer: the change of an SGD step of rate 1.
    static func weightGradient<Layer: TrainableLayer>(_ layer: Layer) throws -> Matrix<Layer.Scalar> {
        var sgd = try SGDOptimizer<Layer.Scalar>(settings: SGDSettings(learningRate: 1, momentum: 0))
        layer.handle = try sgd.register(layer.spec)
        let before = layer.weight
        try layer.update(with: &sgd)
        return Matrix(rows: before.rows, columns: before.columns) { i, j in before[i, j] - layer.weight[i, j] }
    }

    static func float(_ m: Matrix<Double>) -> Matrix<Float> {
        Matrix(rows: m.rows, columns: m.columns) { i, j in Float(m[i, j]) }
    }

    static func double(_ m: Matrix<Float>) -> Matrix<Double> {
        Matrix(rows: m.rows, columns: m.columns) { i, j in Double(m[i, j]) }
    }
}
