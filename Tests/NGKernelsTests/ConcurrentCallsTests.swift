import Synchronization
import NGKernels
import Testing

@Suite struct ConcurrentCallsTests {
    /// Every index is called once, whether the work is large enough to start threads or not.
    /// (That each call sees OpenBLAS on one thread cannot be seen here: the test command runs
    /// OpenBLAS on one thread throughout, and changing it mid-process would change other
    /// tests' BLAS calls.)
    @Test func everyIndexOnce() {
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        for count in [0, 1, 2, 5, 33] {
            for work in [0, Double(1 << 30)] {
                let visits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
                defer { visits.deallocate() }
                visits.initialize(repeating: 0)
                // Each index is taken by one thread, so its counter has one writer.
                ConcurrentCalls.forEach(count, work: work) { index in visits[index] += 1 }
                #expect(visits.prefix(count).allSatisfy { $0 == 1 }, "count \(count), work \(work)")
            }
        }
    }

    /// Inverse fourth roots made several at a time equal, bit for bit, the same roots made one
    /// after the other: each solve owns its workspaces and LAPACK keeps nothing between calls.
    @Test(arguments: scalarTypes)
    func concurrentRootsEqualSequentialOnes(type: any BLASScalar.Type) {
        func check<Scalar: BLASScalar>(_: Scalar.Type) {
            ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
            var generator = SeededGenerator(seed: 17)
            let orders = [130, 97, 64, 64, 5, 1]
            // Grams of half the order's rank and a shift: semi-definite with a spread spectrum.
            let factors: [Matrix<Scalar>] = orders.map { n in
                let a = Matrix<Scalar>.random(rows: n / 2 + 1, columns: n, using: &generator)
                var gram = Matrix<Scalar>(rows: n, columns: n)
                try! BLAS.gemm(a, transposeA: true, a, into: &gram)
                return gram
            }
            func roots(concurrently: Bool) -> [Matrix<Scalar>] {
                var solvers = orders.map { InverseRoot<Scalar>(order: $0) }
                var roots = orders.map { Matrix<Scalar>(rows: $0, columns: $0) }
                guard concurrently else {
                    for i in orders.indices {
                        #expect(solvers[i].compute(factors[i], power: 4, epsilon: 1e-6, into: &roots[i]))
                    }
                    return roots
                }
                let failures = Atomic<Int>(0)
                let work = orders.reduce(0.0) { $0 + Double($1 * $1 * $1) }
                solvers.withUnsafeMutableBufferPointer { solvers in
                    roots.withUnsafeMutableBufferPointer { roots in
                        // Index i touches only solvers[i] and roots[i].
                        nonisolated(unsafe) let (solvers, roots) = (solvers, roots)
                        ConcurrentCalls.forEach(orders.count, work: work) { i in
                            if !solvers[i].compute(factors[i], power: 4, epsilon: 1e-6, into: &roots[i]) {
                                failures.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                #expect(failures.load(ordering: .relaxed) == 0)
                return roots
            }
            let sequential = roots(concurrently: false)
            for _ in 0..<3 { #expect(roots(concurrently: true) == sequential, "\(Scalar.self)") }
        }
        check(type)
    }
}
