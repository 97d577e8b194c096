import NGKernels
import NGTestSupport
import Testing

/// The per-sample GFIM of a dense layer from explicitly formed per-sample gradients
/// `dW_i = B·dy_i·x̃_iᵀ`: `(1/B)·Σ dW_i·dW_iᵀ` (left) or `(1/B)·Σ dW_iᵀ·dW_i` (right), and the
/// same sum over absolute values for the error scale.
func explicitLinearGFIM(
    inputs x: Reference, outputGradients dy: Reference, bias: Bool, side: Side
) -> (value: Reference, scale: Reference) {
    let batch = x.rows
    let width = x.columns + (bias ? 1 : 0)
    let order = side == .left ? dy.columns : width
    var sum = Reference(rows: order, columns: order)
    var absoluteSum = sum
    for i in 0..<batch {
        var dw = Reference(rows: dy.columns, columns: width)
        for o in 0..<dy.columns {
            for j in 0..<width {
                dw[o, j] = Double(batch) * dy[i, o] * (j < x.columns ? x[i, j] : 1)
            }
        }
        let term = side == .left ? dw * dw.transposed : dw.transposed * dw
        let absoluteTerm = side == .left ? dw.absolute * dw.absolute.transposed : dw.absolute.transposed * dw.absolute
        sum = sum + (1 / Double(batch)) * term
        absoluteSum = absoluteSum + (1 / Double(batch)) * absoluteTerm
    }
    return (sum, absoluteSum)
}

@Suite struct LinearGFIMTests {
    @Test func handCheckedTwoSamplesOneOutputOneInput() throws {
        let x = try Matrix<Double>(rows: 2, columns: 1, elements: [1, 2])
        let dy = try Matrix<Double>(rows: 2, columns: 1, elements: [3, 4])
        for (bias, side, expected) in [
            (false, Side.left, [146.0]), (true, .left, [196]), (true, .right, [146, 82, 82, 50]),
        ] {
            var builder = try LinearGFIMBuilder<Double>(outputs: 1, inputs: 1, bias: bias, side: side)
            var f = try BlockDiagonalMatrix<Double>(dimension: builder.dimension)
            try builder.accumulate(inputs: x, outputGradients: dy, into: &f)
            // Exact but for the rounding of √(‖x̃_i‖²) squared back: a few ulps.
            for (value, exact) in zip(f.dense().elements, expected) {
                #expect(abs(value - exact) <= 4 * Double.ulpOfOne * exact, "bias \(bias) \(side): \(value)")
            }
        }
    }

    @Test(arguments: scalarTypes)
    func matchesExplicitPerSampleGradientsOnRandomShapes(type: any BLASScalar.Type) throws {
        try randomCase(type)
    }

    func randomCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 21)
        for (m, n, batch) in shapes {
            for bias in [false, true] {
                for side in Side.allCases {
                    for (blockSize, newWeight) in [(1024, 1.0), (3, 1.0), (1024, 0.25), (2, 0.9)] {
                        let x = Matrix<S>.random(rows: batch, columns: n, using: &generator)
                        let dy = Matrix<S>.random(rows: batch, columns: m, using: &generator)
                        var builder = try LinearGFIMBuilder<S>(
                            outputs: m, inputs: n, bias: bias, side: side, batchCapacity: 2)
                        let order = builder.dimension
                        let previous: BlockDiagonalMatrix<S> = try randomGFIM(
                            order: order, rank: 3, blockSize: blockSize, using: &generator)
                        var f = previous
                        try builder.accumulate(inputs: x, outputGradients: dy, newWeight: S(newWeight), into: &f)

                        let (fresh, freshScale) = explicitLinearGFIM(
                            inputs: Reference(x), outputGradients: Reference(dy), bias: bias, side: side)
                        let freshBlocks = try BlockDiagonalMatrix(
                            diagonalBlocksOf: Matrix<Double>(rows: order, columns: order, elements: fresh.values),
                            blockSize: blockSize).dense()
                        let scaleBlocks = try BlockDiagonalMatrix(
                            diagonalBlocksOf: Matrix<Double>(rows: order, columns: order, elements: freshScale.values),
                            blockSize: blockSize).dense()
                        let old = Reference(previous.dense())
                        let expected = (1 - newWeight) * old + newWeight * Reference(freshBlocks)
                        let scale = (1 - newWeight) * old.absolute + newWeight * Reference(scaleBlocks)
                        let error = relativeError(Reference(f.dense()), expected, scale: scale)
                        let tolerance = productTolerance(S.self, inner: n + m + batch + 4)
                        #expect(error <= tolerance,
                                "\(m)×\(n) B=\(batch) bias \(bias) \(side) block \(blockSize) α \(newWeight): \(error)")
                        #expect(builder.batchSize == batch)
                    }
                }
            }
        }
    }

    @Test func scaledRowsAreTheLowRankFactorOfTheGFIM() throws {
        var generator = SeededGenerator(seed: 22)
        let x = Matrix<Double>.random(rows: 5, columns: 4, using: &generator)
        let dy = Matrix<Double>.random(rows: 5, columns: 3, using: &generator)
        var builder = try LinearGFIMBuilder<Double>(outputs: 3, inputs: 4, bias: true, batchCapacity: 8)
        var f = try BlockDiagonalMatrix<Double>(dimension: 3)
        try builder.accumulate(inputs: x, outputGradients: dy, into: &f)
        let u = Reference(builder.scaledRows).block(0..<5, 0..<3)
        let error = relativeError(5 * (u.transposed * u), Reference(f.dense()))
        #expect(error < 1e-14)
    }

    @Test func badInputThrowsAndLeavesTheGFIMUntouched() throws {
        var builder = try LinearGFIMBuilder<Float>(outputs: 3, inputs: 4, bias: false)
        let original = try BlockDiagonalMatrix(
            diagonalBlocksOf: Matrix<Float>.identity(3), blockSize: 2)
        var f = original
        let x = Matrix<Float>(rows: 2, columns: 4, repeating: 1)
        let dy = Matrix<Float>(rows: 2, columns: 3, repeating: 1)
        let op: NGError.Operation = "LinearGFIMBuilder.accumulate"
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "inputs", expected: Shape(2, 4), actual: Shape(2, 5))) {
            try builder.accumulate(inputs: Matrix(rows: 2, columns: 5), outputGradients: dy, into: &f)
        }
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "outputGradients", expected: Shape(2, 3), actual: Shape(3, 3))) {
            try builder.accumulate(inputs: x, outputGradients: Matrix(rows: 3, columns: 3), into: &f)
        }
        var wrongOrder = try BlockDiagonalMatrix<Float>(dimension: 4)
        #expect(throws: NGError.shapeMismatch(operation: op, argument: "GFIM", expected: Shape(3, 3), actual: Shape(4, 4))) {
            try builder.accumulate(inputs: x, outputGradients: dy, into: &wrongOrder)
        }
        var nanX = x
        nanX[1, 2] = .nan
        #expect(throws: NGError.nonFinite(operation: op, argument: "inputs", row: 1, column: 2)) {
            try builder.accumulate(inputs: nanX, outputGradients: dy, into: &f)
        }
        var infDY = dy
        infDY[0, 0] = -.infinity
        #expect(throws: NGError.nonFinite(operation: op, argument: "outputGradients", row: 0, column: 0)) {
            try builder.accumulate(inputs: x, outputGradients: infDY, into: &f)
        }
        for weight: Float in [0, -0.5, 1.5, .nan] {
            #expect(throws: NGError.self) {
                try builder.accumulate(inputs: x, outputGradients: dy, newWeight: weight, into: &f)
            }
        }
        #expect(throws: NGError.emptyMatrix(operation: op, argument: "inputs", shape: Shape(0, 4))) {
            try builder.accumulate(inputs: Matrix(rows: 0, columns: 4), outputGradients: Matrix(rows: 0, columns: 3), into: &f)
        }
        #expect(f == original)
        #expect(throws: NGError.self) { try LinearGFIMBuilder<Float>(outputs: 0, inputs: 4, bias: false) }
    }
}
