import Foundation
import NGPlus
import NGTestSupport
import Testing

/// Muon and Shampoo against references written with plain loops in Double (their eigenvectors by
/// Jacobi rotations, independent of LAPACK), on square, wide, tall and 1 × 1 parameters, over
/// several steps, and on vectors and tables, which take Adam.
@Suite struct MuonShampooReferenceTests {
    // MARK: Muon

    /// Muon's reference: `M = β·M + (1−β)·G`, `U = (1−β)·G + β·M` (Nesterov), five quintic
    /// Newton–Schulz steps on `U/(‖U‖+1e-7)` (transposed when tall), times `√max(1, r/c)`;
    /// `W ← (1 − lr·wd)·W − lr·O`, the decay on the weight columns.
    static func muonDirection(_ u: Reference, steps: Int) -> Reference {
        let tall = u.rows > u.columns
        var x = tall ? u.transposed : u
        x = (1 / (x.norm + 1e-7)) * x
        let (a, b, c) = (3.4445, -4.7750, 2.0315)
        for _ in 0..<steps {
            let gram = x * x.transposed
            let poly = b * gram + c * (gram * gram)
            x = a * x + poly * x
        }
        let o = tall ? x.transposed : x
        return max(1, Double(u.rows) / Double(u.columns)).squareRoot() * o
    }

    @Test(arguments: [
        (LayerSpec.dense(outputs: 6, inputs: 5, bias: true), true),
        (.dense(outputs: 2, inputs: 9, bias: true), false),
        (.matrix(rows: 7, columns: 3), true),
        (.matrix(rows: 1, columns: 1), true),
    ])
    func muonMatchesThePlainLoopReference(spec: LayerSpec, nesterov: Bool) throws {
        let (lr, beta, wd) = (0.02, 0.95, 0.1)
        var muon = try MuonOptimizer<Double>(settings: MuonSettings(
            learningRate: .constant(lr), momentum: beta, nesterov: nesterov, weightDecay: wd))
        let layer = try muon.register(spec)
        let shape = spec.parameterShape
        var generator = SeededGenerator(seed: 301)
        var weight = Matrix<Double>.random(rows: shape.rows, columns: shape.columns, using: &generator)
        var w = Reference(weight)
        var m = Reference(rows: shape.rows, columns: shape.columns)
        for t in 0..<4 {
            let g = Reference(Matrix<Double>.random(rows: shape.rows, columns: shape.columns, using: &generator))
            var gradient = Matrix<Double>(rows: shape.rows, columns: shape.columns)
            for i in 0..<shape.rows { for j in 0..<shape.columns { gradient[i, j] = g[i, j] } }
            try muon.step(layer, weight: &weight, gradient: gradient)
            m = beta * m + (1 - beta) * g
            let u = nesterov ? (1 - beta) * g + beta * m : m
            let o = Self.muonDirection(u, steps: 5)
            for i in 0..<shape.rows { for j in 0..<spec.weightColumns { w[i, j] *= 1 - lr * wd } }
            w = w - lr * o
            // Five polynomial steps with coefficients up to 4.8 amplify rounding a few
            // hundredfold; the tolerance leaves another factor of ten.
            #expect(relativeError(Reference(weight), w) < 1e-12, "step \(t)")
        }
    }

    /// A 1 × 1 parameter by hand: U = g·(1−β)(1+β) for a first Nesterov step, X₀ = sign(U)
    /// (up to 1e-7), then five steps of x ← a·x + b·x³ + c·x⁵.
    @Test func muonOnAScalarByHand() throws {
        var muon = try MuonOptimizer<Double>(settings: MuonSettings(learningRate: 1, momentum: 0.5))
        let layer = try muon.register(.matrix(rows: 1, columns: 1))
        var weight = Matrix<Double>(rows: 1, columns: 1, repeating: 0)
        try muon.step(layer, weight: &weight, gradient: Matrix(rows: 1, columns: 1, repeating: -4))
        // M = 0.5·(−4) = −2, U = 0.5·(−4) + 0.5·(−2) = −3, X₀ = −3/(3 + 1e-7).
        var x = -3 / (3 + 1e-7)
        for _ in 0..<5 { x = 3.4445 * x - 4.7750 * x * x * x + 2.0315 * x * x * x * x * x }
        #expect(abs(weight[0, 0] - -x) < 1e-14, "\(weight[0, 0]) against \(-x)")
    }

    // MARK: Shampoo

    /// Eigenvalues and eigenvectors (the columns of the second) of a symmetric matrix by cyclic
    /// Jacobi rotations.
    static func jacobi(_ input: Reference) -> (values: [Double], vectors: Reference) {
        let n = input.rows
        var a = input
        var v = Reference.identity(n)
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in 0..<n where p != q { off += a[p, q] * a[p, q] } }
            if off < 1e-30 * max(a.norm * a.norm, 1e-300) { break }
            for p in 0..<n {
                for q in (p + 1)..<n where a[p, q] != 0 {
                    let theta = (a[q, q] - a[p, p]) / (2 * a[p, q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    for k in 0..<n {
                        let (akp, akq) = (a[k, p], a[k, q])
                        a[k, p] = c * akp - s * akq
                        a[k, q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let (apk, aqk) = (a[p, k], a[q, k])
                        a[p, k] = c * apk - s * aqk
                        a[q, k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let (vkp, vkq) = (v[k, p], v[k, q])
                        v[k, p] = c * vkp - s * vkq
                        v[k, q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0, $0] }, v)
    }

    /// `(A + ε·λ_max·I)^(−1/4)`, the identity when λ_max ≤ 0.
    static func inverseFourthRoot(_ a: Reference, epsilon: Double) -> Reference {
        let (values, q) = jacobi(a)
        let largest = values.max() ?? 0
        guard largest > 0 else { return .identity(a.rows) }
        var d = Reference(rows: a.rows, columns: a.rows)
        for i in 0..<a.rows { d[i, i] = pow(max(values[i], 0) + epsilon * largest, -0.25) }
        return q * d * q.transposed
    }

    /// Shampoo's reference on blocks of `blockSize`: Adam's moments (β₁, β₂) give the graft
    /// `A = m̂/(√v̂ + ε)`; `L += G_b·G_bᵀ`, `R += G_bᵀ·G_b` per block; roots every k steps;
    /// `P_b = L_b^(−1/4)·m̂_b·R_b^(−1/4)`; `W ← (1 − lr·wd)·W − lr·(‖A‖/‖P‖)·P`. The 3 × 110
    /// matrix's roots are enough work (110³ multiply-adds) to be made two at a time.
    @Test(arguments: [
        (LayerSpec.dense(outputs: 3, inputs: 4, bias: true), 2, 1.0),
        (.matrix(rows: 4, columns: 3), 8, 0.9),
        (.dense(outputs: 6, inputs: 2, bias: false), 4, 1.0),
        (.matrix(rows: 1, columns: 1), 1, 1.0),
        (.matrix(rows: 3, columns: 110), 1024, 1.0),
    ])
    func shampooMatchesThePlainLoopReference(spec: LayerSpec, blockSize: Int, factorDecay: Double) throws {
        // Left set: other tests of this process may split too, which changes no result.
        ParallelLoop.threadCountOverride.store(2, ordering: .relaxed)
        let (lr, b1, b2, eps, graftEps, wd, k) = (0.01, 0.9, 0.99, 1e-4, 1e-8, 0.05, 2)
        var shampoo = try ShampooOptimizer<Double>(settings: ShampooSettings(
            learningRate: .constant(lr), beta1: b1, beta2: b2, factorDecay: factorDecay, epsilon: eps,
            graftEpsilon: graftEps, inverseInterval: k, blockSize: blockSize, weightDecay: wd))
        let layer = try shampoo.register(spec)
        let shape = spec.parameterShape
        let rowBlocks = stride(from: 0, to: shape.rows, by: blockSize).map { $0..<min($0 + blockSize, shape.rows) }
        let columnBlocks = stride(from: 0, to: shape.columns, by: blockSize).map { $0..<min($0 + blockSize, shape.columns) }
        var generator = SeededGenerator(seed: 302)
        var weight = Matrix<Double>.random(rows: shape.rows, columns: shape.columns, using: &generator)
        var w = Reference(weight)
        var m = Reference(rows: shape.rows, columns: shape.columns)
        var v = m
        var factors: [String: (left: Reference, right: Reference, leftRoot: Reference, rightRoot: Reference)] = [:]
        for t in 0..<5 {
            let gradient = Matrix<Double>.random(rows: shape.rows, columns: shape.columns, using: &generator)
            let g = Reference(gradient)
            try shampoo.step(layer, weight: &weight, gradient: gradient)
            var graft = Reference(rows: shape.rows, columns: shape.columns)
            for e in 0..<g.values.count {
                m.values[e] = b1 * m.values[e] + (1 - b1) * g.values[e]
                v.values[e] = b2 * v.values[e] + (1 - b2) * g.values[e] * g.values[e]
                let mHat = m.values[e] / (1 - pow(b1, Double(t + 1)))
                let vHat = v.values[e] / (1 - pow(b2, Double(t + 1)))
                graft.values[e] = mHat / (vHat.squareRoot() + graftEps)
            }
            let mHat = (1 / (1 - pow(b1, Double(t + 1)))) * m
            var p = Reference(rows: shape.rows, columns: shape.columns)
            for rows in rowBlocks {
                for columns in columnBlocks {
                    let key = "\(rows)×\(columns)"
                    let gb = g.block(rows, columns)
                    var f = factors[key] ?? (
                        Reference(rows: rows.count, columns: rows.count), Reference(rows: columns.count, columns: columns.count),
                        .identity(rows.count), .identity(columns.count))
                    let weightOfNew = factorDecay == 1 ? 1 : 1 - factorDecay
                    f.left = factorDecay * f.left + weightOfNew * (gb * gb.transposed)
                    f.right = factorDecay * f.right + weightOfNew * (gb.transposed * gb)
                    if t % k == 0 {
                        f.leftRoot = Self.inverseFourthRoot(f.left, epsilon: eps)
                        f.rightRoot = Self.inverseFourthRoot(f.right, epsilon: eps)
                    }
                    factors[key] = f
                    let pb = f.leftRoot * mHat.block(rows, columns) * f.rightRoot
                    for i in rows { for j in columns { p[i, j] = pb[i - rows.lowerBound, j - columns.lowerBound] } }
                }
            }
            let direction = (graft.norm / p.norm) * p
            for i in 0..<shape.rows { for j in 0..<spec.weightColumns { w[i, j] *= 1 - lr * wd } }
            w = w - lr * direction
            #expect(relativeError(Reference(weight), w) < 1e-10, "step \(t)")
        }
    }

    // MARK: Vectors, tables, Float, checkpoints

    /// A vector steps exactly as Adam with the settings' `adam`.
    @Test func vectorsTakeAdam() throws {
        let adamSettings = AdamSettings(learningRate: 0.01, weightDecay: 0.1, weightDecayMode: .decoupled)
        var muon = try MuonOptimizer<Double>(settings: MuonSettings(adam: adamSettings))
        var shampoo = try ShampooOptimizer<Double>(settings: ShampooSettings(adam: adamSettings))
        var adam = try AdamOptimizer<Double>(settings: adamSettings)
        let handles = try (muon.register(.vector(length: 5)), shampoo.register(.vector(length: 5)), adam.register(.vector(length: 5)))
        var generator = SeededGenerator(seed: 303)
        var weights = Array(repeating: Matrix<Double>.random(rows: 1, columns: 5, using: &generator), count: 3)
        for _ in 0..<3 {
            let g = Matrix<Double>.random(rows: 1, columns: 5, using: &generator)
            try muon.step(handles.0, weight: &weights[0], gradient: g)
            try shampoo.step(handles.1, weight: &weights[1], gradient: g)
            try adam.step(handles.2, weight: &weights[2], gradient: g)
        }
        #expect(weights[0].elements == weights[2].elements && weights[1].elements == weights[2].elements)
    }

    /// A table steps lazily as Adam's sparse step: only the looked-up rows change.
    @Test func tablesTakeAdamsSparseStep() throws {
        var muon = try MuonOptimizer<Double>(settings: MuonSettings())
        var adam = try AdamOptimizer<Double>(settings: MuonSettings().adam)
        let a = try muon.register(.embedding(vocabulary: 20, width: 3))
        let b = try adam.register(.embedding(vocabulary: 20, width: 3))
        var generator = SeededGenerator(seed: 304)
        var tables = Array(repeating: Matrix<Double>.random(rows: 20, columns: 3, using: &generator), count: 2)
        let before = tables[0]
        let dy = Matrix<Double>.random(rows: 4, columns: 3, using: &generator)
        try muon.step(a, table: &tables[0], lookups: [3, 7, 3, 11], outputGradients: dy)
        try adam.step(b, table: &tables[1], lookups: [3, 7, 3, 11], outputGradients: dy)
        #expect(tables[0].elements == tables[1].elements)
        let changed = (0..<20).filter { r in (0..<3).contains { tables[0][r, $0] != before[r, $0] } }
        #expect(changed == [3, 7, 11])
    }

    /// Float follows Double to its precision, fused and gradient forms agree, and a state saved
    /// mid-run resumes to the same weights, for both optimizers (Shampoo with ε = 1e-4, so that
    /// Float's rounding of the factors' small eigenvalues stays below the regularization).
    @Test(arguments: [false, true])
    func floatFusedAndResumed(shampooKind: Bool) throws {
        let spec = LayerSpec.dense(outputs: 5, inputs: 6, bias: true)
        var generator = SeededGenerator(seed: 305)
        let batches = (0..<4).map { _ in
            (Matrix<Double>.random(rows: 8, columns: 6, using: &generator),
             Matrix<Double>.random(rows: 8, columns: 5, scale: 0.1, using: &generator))
        }
        let start = Matrix<Double>.random(rows: 5, columns: 7, scale: 0.3, using: &generator)
        func run<O: LayerOptimizer>(_ fresh: O, fused: Bool, resumeAfter: Int? = nil) throws -> Matrix<O.Scalar> {
            var optimizer = fresh
            let layer = try optimizer.register(spec)
            var weight = Matrix<O.Scalar>(rows: 5, columns: 7) { i, j in O.Scalar(start[i, j]) }
            for (t, (x, dy)) in batches.enumerated() {
                if t == resumeAfter {
                    var resumed = fresh
                    _ = try resumed.register(spec)
                    try resumed.restore(stateBytes: optimizer.stateBytes())
                    optimizer = resumed
                }
                let xs = Matrix<O.Scalar>(rows: 8, columns: 6) { i, j in O.Scalar(x[i, j]) }
                let dys = Matrix<O.Scalar>(rows: 8, columns: 5) { i, j in O.Scalar(dy[i, j]) }
                if fused {
                    try optimizer.step(layer, weight: &weight, inputs: xs, outputGradients: dys)
                } else {
                    var g = Matrix<O.Scalar>(rows: 5, columns: 7)
                    for i in 0..<5 {
                        for j in 0..<7 {
                            var sum = 0.0
                            for r in 0..<8 { sum += dy[r, i] * (j < 6 ? x[r, j] : 1) }
                            g[i, j] = O.Scalar(sum)
                        }
                    }
                    try optimizer.step(layer, weight: &weight, gradient: g)
                }
            }
            return weight
        }
        let doubleWeight: Matrix<Double>
        let floatWeight: Matrix<Float>
        let resumedWeight: Matrix<Double>
        let fusedWeight: Matrix<Double>
        if shampooKind {
            let settings = ShampooSettings(epsilon: 1e-4, inverseInterval: 2, blockSize: 4)
            doubleWeight = try run(ShampooOptimizer<Double>(settings: settings), fused: false)
            fusedWeight = try run(ShampooOptimizer<Double>(settings: settings), fused: true)
            resumedWeight = try run(ShampooOptimizer<Double>(settings: settings), fused: false, resumeAfter: 3)
            floatWeight = try run(ShampooOptimizer<Float>(settings: settings), fused: false)
        } else {
            doubleWeight = try run(MuonOptimizer<Double>(settings: MuonSettings()), fused: false)
            fusedWeight = try run(MuonOptimizer<Double>(settings: MuonSettings()), fused: true)
            resumedWeight = try run(MuonOptimizer<Double>(settings: MuonSettings()), fused: false, resumeAfter: 3)
            floatWeight = try run(MuonOptimizer<Float>(settings: MuonSettings()), fused: false)
        }
        #expect(resumedWeight.elements == doubleWeight.elements)
        #expect(relativeError(Reference(fusedWeight), Reference(doubleWeight)) < 1e-12)
        #expect(relativeError(Reference(floatWeight), Reference(doubleWeight)) < 1e-4)
    }
}
