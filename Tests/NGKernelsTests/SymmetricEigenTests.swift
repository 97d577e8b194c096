import NGKernels
import NGTestSupport
import Testing

@Suite struct SymmetricEigenTests {
    @Test func handCheckedTwoByTwo() throws {
        let a = try Matrix<Double>(rows: 2, columns: 2, elements: [2, 1, 1, 2])
        let (values, vectors) = try SymmetricEigen.decompose(a)
        #expect(abs(values[0] - 1) < 1e-15 && abs(values[1] - 3) < 1e-15)
        let v = try #require(vectors)
        // Row 1 is the eigenvector of 3: ±[1, 1]/√2.
        #expect(abs(abs(v[1, 0]) - 0.5.squareRoot()) < 1e-15 && abs(v[1, 0] - v[1, 1]) < 1e-15)
        #expect(abs(try SymmetricEigen.conditionNumber(of: a) - 3) < 1e-14)
    }

    @Test(arguments: scalarTypes)
    func eigenpairsSatisfyTheirEquation(type: any BLASScalar.Type) throws {
        try eigenCase(type)
    }

    func eigenCase<S: BLASScalar>(_: S.Type) throws {
        var generator = SeededGenerator(seed: 61)
        for n in [1, 2, 5, 17] {
            let f: BlockDiagonalMatrix<S> = try randomGFIM(order: n, rank: n + 1, blockSize: n, using: &generator)
            let a = f.dense()
            let (values, vectors) = try SymmetricEigen.decompose(a)
            let v = Reference(try #require(vectors))
            let ra = Reference(a)
            for k in 0..<n {
                let vector = v.block(k..<(k + 1), 0..<n).transposed
                let residual = ra * vector - Double(values[k]) * vector
                #expect(residual.norm <= 8 * Double(n) * unitRoundoff(S.self) * ra.norm, "n \(n) pair \(k)")
            }
            #expect(values == values.sorted())
        }
    }

    @Test func badInputThrows() throws {
        #expect(throws: NGError.self) { try SymmetricEigen.decompose(Matrix<Float>(rows: 2, columns: 3)) }
        #expect(throws: NGError.self) { try SymmetricEigen.decompose(Matrix<Float>(rows: 0, columns: 0)) }
        let singular = try Matrix<Double>(rows: 2, columns: 2, elements: [1, 1, 1, 1])
        #expect(try SymmetricEigen.conditionNumber(of: singular) > 1e15)
    }
}
