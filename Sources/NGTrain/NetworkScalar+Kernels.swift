import NGPlus

/// The loops of `NetworkScalar`, forwarded to the generic code of `NetworkKernels`. Each is
/// specialized for Float and Double: the protocol's witness for a concrete type enters the
/// generic entry point, which goes straight to the specialized body, so a layer called through
/// the `NetworkLayer` existential still runs loops compiled for its scalar.
extension NetworkScalar {
    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func relu(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        NetworkKernels.relu(x, into: y, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func rectifiedSum(
        _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, into c: UnsafeMutablePointer<Self>, count: Int
    ) {
        NetworkKernels.rectifiedSum(a, b, into: c, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func reluBackward(
        output y: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int
    ) {
        NetworkKernels.reluBackward(output: y, outputGradient: dy, into: dx, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func fold(
        _ geometry: ConvGeometry, _ du: UnsafeMutablePointer<Self>, ld: Int, batch: Int, sampleStride: Int,
        into dx: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.fold(geometry, du, ld: ld, batch: batch, sampleStride: sampleStride, into: dx)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func maxPool(
        _ x: UnsafePointer<Self>, _ layout: PoolingLayout, samples: Range<Int>, rectify: Bool,
        into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>
    ) {
        NetworkKernels.maxPool(x, layout, samples: samples, rectify: rectify, into: y, argmax: argmax)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func maxPoolBackward(
        _ dy: UnsafePointer<Self>, argmax: UnsafePointer<Int32>, _ layout: PoolingLayout, samples: Range<Int>,
        into dx: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.maxPoolBackward(dy, argmax: argmax, layout, samples: samples, into: dx)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func softmaxCrossEntropy(
        _ logits: UnsafePointer<Self>, rows: Int, classes: Int, leadingDimension: Int, labels: UnsafeBufferPointer<Int>,
        into gradient: UnsafeMutablePointer<Self>
    ) -> Double {
        NetworkKernels.softmaxCrossEntropy(
            logits, rows: rows, classes: classes, leadingDimension: leadingDimension, labels: labels, into: gradient)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func causalAttention(
        _ x: UnsafePointer<Self>, sequences: Int, length: Int, heads: Int, width: Int, rowBlock: Int,
        probabilities: UnsafeMutablePointer<Self>, transposed: UnsafeMutablePointer<Self>, slots: Int,
        into output: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.causalAttention(
            x, sequences: sequences, length: length, heads: heads, width: width, rowBlock: rowBlock,
            probabilities: probabilities, transposed: transposed, slots: slots, into: output)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func causalAttentionBackward(
        _ x: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>, probabilities: UnsafePointer<Self>,
        scoreGradients: UnsafeMutablePointer<Self>, transposed: UnsafeMutablePointer<Self>, slots: Int, sequences: Int,
        length: Int, heads: Int, width: Int, rowBlock: Int, into dx: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.causalAttentionBackward(
            x, outputGradient: dy, probabilities: probabilities, scoreGradients: scoreGradients, transposed: transposed,
            slots: slots, sequences: sequences, length: length, heads: heads, width: width, rowBlock: rowBlock, into: dx)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func sampleConvolution(
        _ x: UnsafePointer<Self>, batch: Int, geometry: ConvGeometry, weight: UnsafePointer<Self>, outChannels: Int,
        layout: SampleConvolutionLayout, scratch: UnsafeMutablePointer<Self>, slots: Int,
        into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        NetworkKernels.sampleConvolution(
            x, batch: batch, geometry: geometry, weight: weight, outChannels: outChannels, layout: layout,
            scratch: scratch, slots: slots, into: y, argmax: argmax)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func sampleConvolutionBackward(
        _ x: UnsafePointer<Self>, batch: Int, geometry: ConvGeometry, weight: UnsafePointer<Self>, outChannels: Int,
        outputGradient dy: UnsafePointer<Self>, layout: SampleConvolutionLayout, argmax: UnsafePointer<Int32>?,
        scratch: UnsafeMutablePointer<Self>, slots: Int, sums: WeightGradientSums<Self>,
        inputGradient dx: UnsafeMutablePointer<Self>?
    ) {
        NetworkKernels.sampleConvolutionBackward(
            x, batch: batch, geometry: geometry, weight: weight, outChannels: outChannels, outputGradient: dy,
            layout: layout, argmax: argmax, scratch: scratch, slots: slots, sums: sums, inputGradient: dx)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func directConvolution(
        _ x: UnsafePointer<Self>, batch: Int, direct: DirectConvolutionLayout, weight: UnsafePointer<Self>,
        layout: SampleConvolutionLayout, scratch: UnsafeMutablePointer<Self>, slots: Int, into y: UnsafeMutablePointer<Self>,
        argmax: UnsafeMutablePointer<Int32>?
    ) {
        NetworkKernels.directConvolution(
            x, batch: batch, direct: direct, weight: weight, layout: layout, scratch: scratch, slots: slots, into: y,
            argmax: argmax)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func directConvolutionBackward(
        _ x: UnsafePointer<Self>, batch: Int, direct: DirectConvolutionLayout, weight: UnsafePointer<Self>,
        turned: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>, layout: SampleConvolutionLayout,
        argmax: UnsafePointer<Int32>?,
        scratch: UnsafeMutablePointer<Self>, slots: Int, sums: WeightGradientSums<Self>,
        inputGradient dx: UnsafeMutablePointer<Self>?
    ) {
        NetworkKernels.directConvolutionBackward(
            x, batch: batch, direct: direct, weight: weight, turned: turned, outputGradient: dy, layout: layout,
            argmax: argmax, scratch: scratch, slots: slots, sums: sums, inputGradient: dx)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func embeddingLookup(
        _ ids: UnsafePointer<Self>, rows: Int, table: UnsafePointer<Self>, vocabulary: Int, width: Int,
        lookups: UnsafeMutableBufferPointer<Int>, into y: UnsafeMutablePointer<Self>
    ) -> Int? {
        NetworkKernels.embeddingLookup(
            ids, rows: rows, table: table, vocabulary: vocabulary, width: width, lookups: lookups, into: y)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func embeddingBag(
        _ ids: UnsafePointer<Self>, rows: Int, bag: Int, table: UnsafePointer<Self>, vocabulary: Int, width: Int,
        scale: Self, lookups: UnsafeMutableBufferPointer<Int>, into y: UnsafeMutablePointer<Self>
    ) -> Int? {
        NetworkKernels.embeddingBag(
            ids, rows: rows, bag: bag, table: table, vocabulary: vocabulary, width: width, scale: scale, lookups: lookups,
            into: y)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func spreadBagGradients(
        _ dy: UnsafePointer<Self>, rows: Int, bag: Int, width: Int, scale: Self, into g: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.spreadBagGradients(dy, rows: rows, bag: bag, width: width, scale: scale, into: g)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func pairwiseDots(
        _ stacked: UnsafePointer<Self>, rows: Int, vectors: Int, width: Int, into z: UnsafeMutablePointer<Self>,
        stride: Int, offset: Int
    ) {
        NetworkKernels.pairwiseDots(stacked, rows: rows, vectors: vectors, width: width, into: z, stride: stride, offset: offset)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func pairwiseDotsBackward(
        _ stacked: UnsafePointer<Self>, outputGradient dz: UnsafePointer<Self>, rows: Int, vectors: Int, width: Int,
        stride: Int, offset: Int, into dStacked: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.pairwiseDotsBackward(
            stacked, outputGradient: dz, rows: rows, vectors: vectors, width: width, stride: stride, offset: offset,
            into: dStacked)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func shiftedSoftplus(
        _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, sigmoid s: UnsafeMutablePointer<Self>, count: Int
    ) {
        NetworkKernels.shiftedSoftplus(x, into: y, sigmoid: s, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func shiftedSoftplusBackward(
        _ dy: UnsafePointer<Self>, sigmoid s: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int
    ) {
        NetworkKernels.shiftedSoftplusBackward(dy, sigmoid: s, into: dx, count: count)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func pairBasis(
        _ atomRows: UnsafePointer<Self>, molecules: Int, atoms: Int, centers: Int, cutoff: Self, gamma: Self,
        into basis: UnsafeMutablePointer<Self>, envelope: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.pairBasis(
            atomRows, molecules: molecules, atoms: atoms, centers: centers, cutoff: cutoff, gamma: gamma, into: basis,
            envelope: envelope)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func filterConvolution(
        _ h: UnsafePointer<Self>, filters w: UnsafePointer<Self>, envelope c: UnsafePointer<Self>, molecules: Int,
        atoms: Int, width: Int, into m: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.filterConvolution(h, filters: w, envelope: c, molecules: molecules, atoms: atoms, width: width, into: m)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func filterConvolutionBackward(
        _ h: UnsafePointer<Self>, filters w: UnsafePointer<Self>, envelope c: UnsafePointer<Self>,
        outputGradient dm: UnsafePointer<Self>, molecules: Int, atoms: Int, width: Int,
        into dh: UnsafeMutablePointer<Self>, filterGradient dw: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.filterConvolutionBackward(
            h, filters: w, envelope: c, outputGradient: dm, molecules: molecules, atoms: atoms, width: width, into: dh,
            filterGradient: dw)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func atomMean(
        _ x: UnsafePointer<Self>, molecules: Int, atoms: Int, width: Int, into y: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.atomMean(x, molecules: molecules, atoms: atoms, width: width, into: y)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func atomMeanBackward(
        _ dy: UnsafePointer<Self>, molecules: Int, atoms: Int, width: Int, into dx: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.atomMeanBackward(dy, molecules: molecules, atoms: atoms, width: width, into: dx)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func averagePool(_ x: UnsafePointer<Self>, planes: Int, positions: Int, into y: UnsafeMutablePointer<Self>) {
        NetworkKernels.averagePool(x, planes: planes, positions: positions, into: y)
    }

    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func averagePoolBackward(
        _ dy: UnsafePointer<Self>, planes: Int, positions: Int, into dx: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.averagePoolBackward(dy, planes: planes, positions: positions, into: dx)
    }
}

/// The transcendental and row-wise loops, specialized for Double only: Float's conformance
/// runs `FloatLoops` instead, compiled for the processor's vector level.
extension NetworkScalar {
    @_specialize(where Self == Double)
    public static func gelu(
        _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, cumulative: UnsafeMutablePointer<Self>, count: Int
    ) {
        NetworkKernels.gelu(x, into: y, cumulative: cumulative, count: count)
    }

    @_specialize(where Self == Double)
    public static func geluBackward(
        input x: UnsafePointer<Self>, cumulative: UnsafePointer<Self>, outputGradient dy: UnsafePointer<Self>,
        into dx: UnsafeMutablePointer<Self>, count: Int
    ) {
        NetworkKernels.geluBackward(input: x, cumulative: cumulative, outputGradient: dy, into: dx, count: count)
    }

    @_specialize(where Self == Double)
    public static func shiftedExponentials(
        _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int, shift: Self
    ) {
        for i in 0..<count { y[i] = exponential(x[i] - shift) }
    }

    @_specialize(where Self == Double)
    public static func causalSoftmax(
        _ scores: UnsafeMutablePointer<Self>, rows: Int, firstRow: Int, size: Int, leadingDimension: Int
    ) {
        NetworkKernels.causalSoftmax(scores, rows: rows, firstRow: firstRow, size: size, leadingDimension: leadingDimension)
    }

    @_specialize(where Self == Double)
    public static func causalSoftmaxBackward(
        _ probabilities: UnsafePointer<Self>, _ gradient: UnsafeMutablePointer<Self>, rows: Int, firstRow: Int,
        size: Int, leadingDimension: Int
    ) {
        NetworkKernels.causalSoftmaxBackward(
            probabilities, gradient, rows: rows, firstRow: firstRow, size: size, leadingDimension: leadingDimension)
    }

    @_specialize(where Self == Double)
    public static func layerNorm(
        _ x: UnsafePointer<Self>, rows: Int, width: Int, gain: UnsafePointer<Self>, bias: UnsafePointer<Self>,
        epsilon: Self, into y: UnsafeMutablePointer<Self>, means: UnsafeMutablePointer<Self>,
        inverseDeviation: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.layerNorm(
            x, rows: rows, width: width, gain: gain, bias: bias, epsilon: epsilon, into: y, means: means,
            inverseDeviation: inverseDeviation)
    }

    /// Plain loops, one sum a value of C.
    @_specialize(where Self == Double)
    public static func rowProducts(
        m: Int, n: Int, length: Int, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        into c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Self = 0
                for k in 0..<length { sum += a[i * lda + k] * b[j * ldb + k] }
                c[i * ldc + j] = sum
            }
        }
    }

    @_specialize(where Self == Double)
    public static func layerNormBackward(
        _ dy: UnsafePointer<Self>, input x: UnsafePointer<Self>, means: UnsafePointer<Self>,
        inverseDeviation: UnsafePointer<Self>, rows: Int, width: Int, gain: UnsafePointer<Self>,
        into dx: UnsafeMutablePointer<Self>, gainGradient: UnsafeMutablePointer<Self>,
        biasGradient: UnsafeMutablePointer<Self>
    ) {
        NetworkKernels.layerNormBackward(
            dy, input: x, means: means, inverseDeviation: inverseDeviation, rows: rows, width: width, gain: gain,
            into: dx, gainGradient: gainGradient, biasGradient: biasGradient)
    }
}
