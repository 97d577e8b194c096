import Foundation
import NGPlus
import NGTestSupport
import Testing

@Suite struct CurvaturePlanTests {
    func plan(_ spec: LayerSpec, _ configuration: NGPlusConfiguration) throws -> CurvaturePlan {
        var optimizer = try NGPlusOptimizer<Float>(configuration: configuration)
        let layer = try optimizer.register(spec)
        return try #require(try optimizer.plan(for: layer))
    }

    @Test func automaticChoiceTakesTheFewestFlopsPerStep() throws {
        let paper = NGPlusConfiguration(batchSize: 128)
        // 784 → 256: left (256² < 785²); B = 128 is not below m/2, so no Woodbury.
        let mlp = try plan(.dense(outputs: 256, inputs: 784, bias: true), paper)
        #expect(mlp.side == .left && mlp.method == .explicitInverse && mlp.order == 256)
        #expect(mlp.applyFlops == 2 * 256 * 256 * 785)
        #expect(mlp.refreshFlops == 256 * 256 * 256)
        // 1024 → 1024, B = 128 < 512: Woodbury's 4·m·n·B beats 2·m²·n.
        let square = try plan(.dense(outputs: 1024, inputs: 1024, bias: true), paper)
        #expect(square.method == .woodbury && square.applyFlops == 4 * 1024 * 1025 * 128)
        // A running average makes the GFIM full rank: no Woodbury; 16 → 2048 goes right.
        let averaged = NGPlusConfiguration(runningAverage: 0.9, batchSize: 128)
        let wide = try plan(.dense(outputs: 2048, inputs: 16, bias: true), averaged)
        #expect(wide.side == .right && wide.method == .explicitInverse && wide.order == 17)
        // Block-diagonal above the block size.
        let blocked = try plan(.dense(outputs: 3000, inputs: 4000, bias: false),
                               NGPlusConfiguration(runningAverage: 0.5, side: .left, blockSize: 1024))
        #expect(blocked.blockSize == 1024 && blocked.refreshFlops == 2 * pow(1024, 3) + pow(952, 3))
        // Fused planning: the apply costs 2·m²·B.
        let fused = try plan(.dense(outputs: 256, inputs: 784, bias: true), NGPlusConfiguration(batchSize: 128, fusedApply: true))
        #expect(fused.applyFlops == 2 * 256 * 256 * 128)
        // Fused on the right: [X | 1]·F̂⁻¹ costs 2·(n+1)²·B by the explicit inverse, 4·(n+1)·B²
        // by Woodbury (B = 128 < 785/2), which wins.
        let right = NGPlusConfiguration(side: .right, batchSize: 128, fusedApply: true)
        let fusedRight = try plan(.dense(outputs: 256, inputs: 784, bias: true), right)
        #expect(fusedRight.method == .woodbury && fusedRight.applyFlops == 4 * 785 * 128 * 128)
        var explicitRight = right
        explicitRight.method = .explicitInverse
        let fusedExplicit = try plan(.dense(outputs: 256, inputs: 784, bias: true), explicitRight)
        #expect(fusedExplicit.applyFlops == 2 * 785 * 785 * 128)
        // 256 → 10 on the right: G̃ has 10 rows, fewer than B = 128, so the fused step forms G̃
        // and applies F̂⁻¹ to it, 4·257·128·10 flops by Woodbury rather than 4·257·128².
        let narrow = try plan(.dense(outputs: 10, inputs: 256, bias: true), right)
        #expect(narrow.method == .woodbury && narrow.applyFlops == 4 * 257 * 128 * 10)
    }

    /// A dense layer's statistics: the factor U, each sample's row on the planned side scaled
    /// by the norm of its row on the other (order + 2·other flops a sample), and for an
    /// explicit GFIM U's Gram (2·order² a sample); Woodbury keeps U alone. 784 → 256, B = 128.
    @Test func denseStatisticsCountTheGramOnlyWhereItIsFormed() throws {
        let spec = LayerSpec.dense(outputs: 256, inputs: 784, bias: true)
        let left = try plan(spec, NGPlusConfiguration(side: .left, method: .explicitInverse, batchSize: 128))
        #expect(left.statisticsFlops == 128 * (2 * 256 * 256 + 256 + 2 * 784))
        var right = NGPlusConfiguration(side: .right, method: .explicitInverse, batchSize: 128, fusedApply: true)
        #expect(try plan(spec, right).statisticsFlops == 128 * (2 * 785 * 785 + 785 + 2 * 256))
        right.method = .woodbury
        #expect(try plan(spec, right).statisticsFlops == 128 * (785 + 2 * 256))
    }

    /// A convolution's statistics: B per-sample gradients `dY_i·Ũ_iᵀ` (2·c_out·(K+1)·P each)
    /// and their Gram by SYRK (order²·(the other side) each): 2 → 3 channels, 3 × 3 on 4 × 4
    /// with padding 1 (K + 1 = 19, P = 16), B = 8.
    @Test func convolutionStatisticsCountPerSampleGradientsAndOneTriangle() throws {
        let geometry = try ConvGeometry(inChannels: 2, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let spec = LayerSpec.conv2d(geometry: geometry, outChannels: 3, bias: true)
        let left = try plan(spec, NGPlusConfiguration(side: .left, batchSize: 8))
        #expect(left.statisticsFlops == 8 * (2 * 3 * 19 * 16 + 3 * 3 * 19))
        let right = try plan(spec, NGPlusConfiguration(side: .right, batchSize: 8))
        #expect(right.statisticsFlops == 8 * (2 * 3 * 19 * 16 + 19 * 19 * 3))
    }
}
