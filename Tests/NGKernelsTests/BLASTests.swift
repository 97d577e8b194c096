import NGKernels
import NGTestSupport
import Testing

/// GEMM error bound: |fl(AB) − AB| ≤ γ_k·|A|·|B| elementwise, γ_k ≈ k·u; measured in the
/// Frobenius norm relative to ‖|A|·|B|‖.
func productTolerance<Scalar: BLASScalar>(_: Scalar.Type, inner k: Int) -> Double {
    2 * Double(k + 2) * unitRoundoff(Scalar.self)
}

@Suite struct BLASTests {
    @Test(arguments: scalarTypes)
    func gemmMatchesThePlainLoopReferenceForEveryTransposeAndShape(type: any BLASScalar.Type) throws {
        try gemmCase(type)
    }

    func gemmCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 1)
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = Matrix<S>.random(rows: ta ? k : m, columns: ta ? m : k, using: &generator)
                let b = Matrix<S>.random(rows: tb ? n : k, columns: tb ? k : n, using: &generator)
                var c = Matrix<S>.random(rows: m, columns: n, using: &generator)
                let c0 = Reference(c)
                try BLAS.gemm(a, transposeA: ta, b, transposeB: tb, alpha: 0.5, beta: -2, into: &c)
                let ra = ta ? Reference(a).transposed : Reference(a)
                let rb = tb ? Reference(b).transposed : Reference(b)
                let expected = 0.5 * (ra * rb) + (-2) * c0
                let scale = 0.5 * (ra.absolute * rb.absolute) + 2 * c0.absolute
                let error = relativeError(Reference(c), expected, scale: scale)
                #expect(error <= productTolerance(S.self, inner: k), "gemm \(m)×\(n)×\(k) \(ta) \(tb): \(error)")
            }
        }
    }

    /// GEMM cut into parts for the worker threads: the plain-loop reference's values, and the
    /// same bits on one thread and on three, for every transpose and shapes cut by rows and by
    /// columns (the longer side), below and above the 2²⁰ multiply-adds from which the parts
    /// run concurrently.
    @Test(arguments: scalarTypes)
    func gemmOnWorkersMatchesTheReferenceOnAnyThreadCount(type: any BLASScalar.Type) {
        func check<S: BLASScalar>(_: S.Type) {
            var generator = SeededGenerator(seed: 12)
            for (m, n, k) in [(1, 1, 1), (130, 7, 5), (7, 130, 5), (700, 300, 9), (300, 700, 9), (513, 129, 64)] {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a = Matrix<S>.random(rows: ta ? k : m, columns: ta ? m : k, using: &generator)
                    let b = Matrix<S>.random(rows: tb ? n : k, columns: tb ? k : n, using: &generator)
                    let c0 = Matrix<S>.random(rows: m, columns: n, using: &generator)
                    func product(threads: Int) -> Matrix<S> {
                        ParallelLoop.threadCountOverride.store(threads, ordering: .relaxed)
                        defer { ParallelLoop.threadCountOverride.store(0, ordering: .relaxed) }
                        var c = c0
                        a.withView { a in
                            b.withView { b in
                                c.withMutableView { c in
                                    BLAS.gemmOnWorkers(a, transposeA: ta, b, transposeB: tb, alpha: 0.5, beta: -2, into: c)
                                }
                            }
                        }
                        return c
                    }
                    let (one, three) = (product(threads: 1), product(threads: 3))
                    let ra = ta ? Reference(a).transposed : Reference(a)
                    let rb = tb ? Reference(b).transposed : Reference(b)
                    let expected = 0.5 * (ra * rb) + (-2) * Reference(c0)
                    let scale = 0.5 * (ra.absolute * rb.absolute) + 2 * Reference(c0).absolute
                    let error = relativeError(Reference(one), expected, scale: scale)
                    #expect(error <= productTolerance(S.self, inner: k), "\(m)×\(n)×\(k) \(ta) \(tb): \(error)")
                    #expect(one == three, "\(m)×\(n)×\(k) \(ta) \(tb): one thread and three differ")
                }
            }
        }
        check(type)
    }

    /// β = 0 means C is not read (the package zeroes a C of up to 2¹⁶ values itself and asks
    /// OpenBLAS for β = 1; a larger one is OpenBLAS's): NaN and infinity in C are overwritten,
    /// through whole matrices and through a view whose rows are strided, whose neighbouring
    /// columns stay as they were. 256 × 256 is the largest C zeroed first, 257 × 256 the
    /// smallest left to OpenBLAS.
    @Test(arguments: scalarTypes)
    func gemmWithZeroBetaOverwritesWhatCHeld(type: any BLASScalar.Type) throws {
        try zeroBetaCase(type)
    }

    func zeroBetaCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 3)
        for (m, n, k) in shapes + [(256, 256, 3), (257, 256, 3)] {
            let a = Matrix<S>.random(rows: m, columns: k, using: &generator)
            let b = Matrix<S>.random(rows: k, columns: n, using: &generator)
            let (ra, rb) = (Reference(a), Reference(b))
            let tolerance = productTolerance(S.self, inner: k)
            var c = Matrix<S>(rows: m, columns: n) { i, j in (i + j).isMultiple(of: 2) ? .nan : .infinity }
            try BLAS.gemm(a, b, into: &c)
            #expect(relativeError(Reference(c), ra * rb, scale: ra.absolute * rb.absolute) <= tolerance, "\(m)×\(n)×\(k)")

            // C as columns 1...n of an m × (n + 2) matrix of NaN.
            var wide = Matrix<S>(rows: m, columns: n + 2, repeating: .nan)
            a.withView { a in
                b.withView { b in wide.withMutableView { w in BLAS.gemm(a, b, into: w.columns(1..<n + 1)) } }
            }
            let inside = Matrix<S>(rows: m, columns: n) { i, j in wide[i, j + 1] }
            #expect(relativeError(Reference(inside), ra * rb, scale: ra.absolute * rb.absolute) <= tolerance)
            #expect((0..<m).allSatisfy { wide[$0, 0].isNaN && wide[$0, n + 1].isNaN }, "columns outside the view changed")
        }
    }

    @Test func gemmHandCheckedTwoByTwo() throws {
        let a = try Matrix<Double>(rows: 2, columns: 2, elements: [1, 2, 3, 4])
        let b = try Matrix<Double>(rows: 2, columns: 2, elements: [5, 6, 7, 8])
        var c = Matrix<Double>(rows: 2, columns: 2)
        try BLAS.gemm(a, b, into: &c)
        #expect(c.elements == [19, 22, 43, 50])
        try BLAS.gemm(a, transposeA: true, b, into: &c)
        #expect(c.elements == [26, 30, 38, 44])
    }

    @Test(arguments: scalarTypes)
    func syrkIsTheFullSymmetricGramMatrix(type: any BLASScalar.Type) throws {
        try syrkCase(type)
    }

    func syrkCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 2)
        for (m, n, _) in shapes {
            for transpose in [false, true] {
                let a = Matrix<S>.random(rows: m, columns: n, using: &generator)
                let order = transpose ? n : m
                var c = Matrix<S>.random(rows: order, columns: order, using: &generator)
                let c0 = Reference(c)
                try BLAS.syrk(a, transpose: transpose, alpha: 2, beta: 0.5, into: &c)
                let ra = Reference(a)
                let gram = transpose ? ra.transposed * ra : ra * ra.transposed
                let absGram = transpose ? ra.absolute.transposed * ra.absolute : ra.absolute * ra.absolute.transposed
                // SYRK reads only the lower triangle of C; the reference uses the same.
                var expected = 2 * gram
                var scale = 2 * absGram
                for i in 0..<order {
                    for j in 0..<order {
                        let lower = c0[max(i, j), min(i, j)]
                        expected[i, j] += 0.5 * lower
                        scale[i, j] += 0.5 * abs(lower)
                    }
                }
                let error = relativeError(Reference(c), expected, scale: scale)
                #expect(error <= productTolerance(S.self, inner: transpose ? m : n), "syrk \(m)×\(n) \(transpose): \(error)")
                #expect(c == c.transposed(), "syrk result is not symmetric")
            }
        }
    }

    @Test(arguments: scalarTypes)
    func symmReadsTheLowerTriangleOnBothSides(type: any BLASScalar.Type) throws {
        try symmCase(type)
    }

    func symmCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 3)
        for (m, n, _) in shapes {
            for side in Side.allCases {
                let order = side == .left ? m : n
                var a = Matrix<S>.random(rows: order, columns: order, using: &generator)
                // Garbage in the strict upper triangle must be ignored.
                for i in 0..<order { for j in (i + 1)..<max(order, i + 1) { a[i, j] = 99 } }
                let b = Matrix<S>.random(rows: m, columns: n, using: &generator)
                var c = Matrix<S>(rows: m, columns: n)
                try BLAS.symm(a, side: side, b, into: &c)
                var symmetric = Reference(a)
                for i in 0..<order { for j in (i + 1)..<max(order, i + 1) { symmetric[i, j] = symmetric[j, i] } }
                let rb = Reference(b)
                let expected = side == .left ? symmetric * rb : rb * symmetric
                let scale = side == .left ? symmetric.absolute * rb.absolute : rb.absolute * symmetric.absolute
                let error = relativeError(Reference(c), expected, scale: scale)
                #expect(error <= productTolerance(S.self, inner: order), "symm \(m)×\(n) \(side): \(error)")
            }
        }
    }

    @Test func axpyScalAndNrm2OnHandCheckedValues() throws {
        var y = try Matrix<Float>(rows: 1, columns: 3, elements: [1, 1, 1])
        let x = try Matrix<Float>(rows: 1, columns: 3, elements: [1, 2, 3])
        try BLAS.axpy(alpha: 2, x, into: &y)
        #expect(y.elements == [3, 5, 7])
        BLAS.scal(0.5, &y)
        #expect(y.elements == [1.5, 2.5, 3.5])
        let v = try Matrix<Double>(rows: 2, columns: 1, elements: [3, 4])
        #expect(BLAS.nrm2(v) == 5)
        // NRM2 does not overflow where the naive sum of squares would.
        let huge = Matrix<Float>(rows: 1, columns: 2, repeating: 3e30)
        #expect(abs(BLAS.nrm2(huge) / (3e30 * Float(2).squareRoot()) - 1) < 1e-6)
    }

    @Test func shapeMismatchesThrowAndLeaveTheOutputUntouched() throws {
        let a = Matrix<Float>(rows: 2, columns: 3, repeating: 1)
        let b = Matrix<Float>(rows: 4, columns: 2, repeating: 1)
        var c = Matrix<Float>(rows: 2, columns: 2, repeating: 7)
        #expect(throws: NGError.shapeMismatch(
            operation: "BLAS.gemm", argument: "B", expected: Shape(3, 2), actual: Shape(4, 2))) {
            try BLAS.gemm(a, b, into: &c)
        }
        #expect(c == Matrix(rows: 2, columns: 2, repeating: 7))
        var wrongC = Matrix<Float>(rows: 3, columns: 3, repeating: 7)
        #expect(throws: NGError.shapeMismatch(
            operation: "BLAS.syrk", argument: "C", expected: Shape(2, 2), actual: Shape(3, 3))) {
            try BLAS.syrk(a, into: &wrongC)
        }
        #expect(wrongC == Matrix(rows: 3, columns: 3, repeating: 7))
        var y = Matrix<Float>(rows: 3, columns: 2)
        #expect(throws: NGError.self) { try BLAS.axpy(alpha: 1, a, into: &y) }
        #expect(throws: NGError.self) { try BLAS.symm(a, b, into: &c) }
    }

    @Test func emptyOperandsThrow() {
        let empty = Matrix<Double>(rows: 0, columns: 3)
        let b = Matrix<Double>(rows: 3, columns: 2)
        var c = Matrix<Double>(rows: 0, columns: 2)
        #expect(throws: NGError.emptyMatrix(operation: "BLAS.gemm", argument: "A", shape: Shape(0, 3))) {
            try BLAS.gemm(empty, b, into: &c)
        }
    }
}
