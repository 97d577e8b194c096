import CBLAS
import NGKernels

/// One measured kernel: its median time, GFLOP/s and fraction of the machine's sgemm peak.
struct KernelFigure: Codable {
    let kernel: String
    let m: Int
    let n: Int
    let batch: Int
    let medianMs: Double
    let minimumMs: Double
    let p90Ms: Double
    let gflops: Double
    let fractionOfPeak: Double
}

/// Times every NGKernels kernel in Float at one shape (`m` outputs / GFIM order, `n` inputs,
/// `batch` samples), next to raw `cblas_sgemm` and LAPACKE calls on the same data. The GFIM is
/// one block (m ≤ 1024 keeps the default block size from splitting it).
struct KernelBenchmarks {
    static let rawGEMMName = "sgemm (raw cblas)"
    static let applyName = "apply inverse (GEMM)"
    static let refreshName = "refresh (GFIM + inverse)"
    let m: Int
    let n: Int
    let batch: Int
    let plan: RunPlan
    let peak: Double

    func run() throws -> [KernelFigure] {
        var generator = SeededGenerator(seed: 2)
        let (m, n, batch) = (self.m, self.n, self.batch)
        let (dm, dn, db) = (Double(m), Double(n), Double(batch))
        var figures: [KernelFigure] = []
        func record(_ kernel: String, flops: Double, shape: (m: Int, n: Int)? = nil, _ body: () throws -> Void) rethrows {
            let (m, n) = shape ?? (m, n)
            plan.progress("kernels: \(kernel) m=\(m) n=\(n) batch=\(batch)")
            let stats = try TimingStats.measure(warmup: plan.warmup, repetitions: plan.repetitions, body)
            let gflops = stats.gflops(flops)
            figures.append(KernelFigure(
                kernel: kernel, m: m, n: n, batch: batch, medianMs: stats.median, minimumMs: stats.minimum,
                p90Ms: stats.p90, gflops: gflops, fractionOfPeak: gflops / peak))
        }

        // GEMM m×n×m: raw C call, then our validated wrapper on the same data.
        let a = Matrix<Float>.random(rows: m, columns: m, using: &generator)
        let g = Matrix<Float>.random(rows: m, columns: n, using: &generator)
        var d = Matrix<Float>(rows: m, columns: n)
        let gemmFlops = 2 * dm * dm * dn
        var rawOut = d.elements
        a.withUnsafeBufferPointer { pa in
            g.withUnsafeBufferPointer { pg in
                rawOut.withUnsafeMutableBufferPointer { pc in
                    record(Self.rawGEMMName, flops: gemmFlops) {
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(m), 1,
                            pa.baseAddress!, Int32(m), pg.baseAddress!, Int32(n), 0, pc.baseAddress!, Int32(n))
                    }
                }
            }
        }
        try record("BLAS.gemm", flops: gemmFlops) { try BLAS.gemm(a, g, into: &d) }

        // GFIM of a dense layer from a batch, and the SYRK inside it.
        let x = Matrix<Float>.random(rows: batch, columns: n, using: &generator)
        let dy = Matrix<Float>.random(rows: batch, columns: m, scale: 1e-2, using: &generator)
        var gram = Matrix<Float>(rows: m, columns: m)
        try record("BLAS.syrk", flops: dm * dm * db) { try BLAS.syrk(dy, transpose: true, into: &gram) }
        var builder = try LinearGFIMBuilder<Float>(outputs: m, inputs: n, bias: true, batchCapacity: batch)
        var gfim = try BlockDiagonalMatrix<Float>(dimension: m)
        try record("GFIM linear (left)", flops: dm * dm * db + 2 * db * dn) {
            try builder.accumulate(inputs: x, outputGradients: dy, into: &gfim)
        }

        // Damped Cholesky inverse of that GFIM: raw LAPACKE first (copy, shift, potrf, potri
        // on the same data), then our wrapper, then its application.
        let damping = DampingRule.squareRoot(1e-3)
        let shift = Float(damping.shift(maxAbsolute: 0))
        var rawInverse = gfim.diagonalBlocks[0].elements
        let gfimElements = gfim.diagonalBlocks[0].elements
        gfimElements.withUnsafeBufferPointer { source in
            rawInverse.withUnsafeMutableBufferPointer { target in
                record("Cholesky inverse (raw LAPACKE)", flops: dm * dm * dm) {
                    let a = target.baseAddress!
                    a.update(from: source.baseAddress!, count: m * m)
                    for i in 0..<m { a[i * m + i] += shift }
                    let factored = LAPACKE_spotrf_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(m), a, Int32(m))
                    let inverted = LAPACKE_spotri_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(m), a, Int32(m))
                    precondition(factored == 0 && inverted == 0, "raw Cholesky of the benchmark GFIM failed")
                }
            }
        }
        var explicit = try DampedInverse<Float>(dimension: m)
        try record("Cholesky inverse", flops: dm * dm * dm) {
            try explicit.refresh(from: gfim, damping: damping)
        }
        var solve = try DampedInverse<Float>(dimension: m, method: .choleskySolve)
        try record("Cholesky factor", flops: dm * dm * dm / 3) {
            try solve.refresh(from: gfim, damping: damping)
        }
        try record(Self.refreshName, flops: dm * dm * db + dm * dm * dm) {
            try builder.accumulate(inputs: x, outputGradients: dy, into: &gfim)
            try explicit.refresh(from: gfim, damping: damping)
        }
        try record(Self.applyName, flops: gemmFlops) {
            try explicit.apply(g, into: &d)
        }
        try record("apply factor (2 TRSM)", flops: gemmFlops) {
            try solve.apply(g, into: &d)
        }
        var woodbury = try WoodburyInverse<Float>(dimension: m)
        try woodbury.refresh(
            factors: builder.scaledRows, rank: batch, scale: Float(batch), damping: damping)
        try record("apply Woodbury (rank B)", flops: 4 * dm * dn * db) {
            try woodbury.apply(g, into: &d)
        }
        try convolutionStatistics(batch: batch, using: &generator, record)
        return figures
    }

    /// The statistics of the CNN's second convolution (32 → 64 channels, 3 × 3 on 14 × 14,
    /// padding 1; rows with m = c_out, n = K + 1) from `batch` samples: NG+'s per-sample GFIM
    /// on each side and K-FAC's two factors. Flops as the optimizers count them: a per-sample
    /// gradient `2·c_out·(K+1)·P`, a symmetric product of order r over t terms `r²·t` (a GFIM
    /// of order r sums per-sample gradients of `c_out·(K+1)` values: `r·c_out·(K+1)` a sample).
    func convolutionStatistics(
        batch: Int, using generator: inout SeededGenerator,
        _ record: (String, Double, (m: Int, n: Int)?, () throws -> Void) throws -> Void
    ) throws {
        let geometry = try ConvGeometry(inChannels: 32, height: 14, width: 14, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let outChannels = 64
        let x = Matrix<Float>.random(rows: batch, columns: geometry.inputLength, using: &generator)
        let dy = Matrix<Float>.random(rows: batch, columns: outChannels * geometry.positions, scale: 1e-2, using: &generator)
        let (c, k, p, b) = (Double(outChannels), Double(geometry.patchSize + 1), Double(geometry.positions), Double(batch))
        for side in [Side.left, .right] {
            var builder = try Conv2dGFIMBuilder<Float>(geometry: geometry, outChannels: outChannels, bias: true, side: side)
            var gfim = try BlockDiagonalMatrix<Float>(dimension: builder.dimension)
            let order = Double(builder.dimension)
            try record("GFIM conv (\(side))", 2 * c * k * p * b + order * c * k * b, (outChannels, Int(k))) {
                try builder.accumulate(inputs: x, outputGradients: dy, into: &gfim)
            }
        }
        var factors = try KFACFactorBuilder<Float>(geometry: geometry, outChannels: outChannels, bias: true)
        var a = try BlockDiagonalMatrix<Float>(dimension: factors.inputOrder)
        var g = try BlockDiagonalMatrix<Float>(dimension: outChannels)
        try record("K-FAC conv factors", k * k * p * b + c * c * p * b, (outChannels, Int(k))) {
            try factors.accumulate(inputs: x, outputGradients: dy, inputFactor: &a, outputFactor: &g)
        }
    }
}
