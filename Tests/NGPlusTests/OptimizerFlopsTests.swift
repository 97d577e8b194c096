import NGPlus
import Testing

/// Each optimizer's own flops a step (`extraFlopsPerStep`), against counts made by hand for a
/// dense layer of 2 outputs and 3 inputs with a bias (W̃ is 2 × 4), a batch of 8, intervals of
/// 10, and a vector; an unregistered handle is refused.
@Suite struct OptimizerFlopsTests {
    static let dense = LayerSpec.dense(outputs: 2, inputs: 3, bias: true)
    static let vector = LayerSpec.vector(length: 5)

    func flops<Record: LayerRecord>(_ optimizer: LayerwiseOptimizer<Record>) throws -> (dense: Double, vector: Double) {
        var optimizer = optimizer
        let dense = try optimizer.register(Self.dense)
        let vector = try optimizer.register(Self.vector)
        return (try optimizer.extraFlopsPerStep(of: dense), try optimizer.extraFlopsPerStep(of: vector))
    }

    @Test func firstOrderRulesAddNothing() throws {
        #expect(try flops(SGDOptimizer<Double>(settings: SGDSettings())) == (0, 0))
        #expect(try flops(AdamOptimizer<Double>(settings: AdamSettings())) == (0, 0))
    }

    /// Five Newton–Schulz iterations on 2 × 4 (s = 2, l = 4): 5·(3s²l + 2s³) = 5·(48 + 16).
    @Test func muonCountsItsIterations() throws {
        #expect(try flops(MuonOptimizer<Double>(settings: MuonSettings(steps: 5))) == (320, 0))
    }

    /// One 2 × 4 block (r = 2, c = 4): 4r²c + 4rc² = 64 + 128 each step, and 5(r³ + c³) = 360
    /// every 10 steps.
    @Test func shampooCountsFactorsProductsAndRoots() throws {
        let optimizer = try ShampooOptimizer<Double>(settings: ShampooSettings(inverseInterval: 10, blockSize: 1024))
        let counted = try flops(optimizer)
        #expect(abs(counted.dense - 228) < 1e-9 && counted.vector == 0)
    }

    /// a = 4, m = 2, B = 8: factors (a² + m²)·B = 160 every 10 steps, inverses a³ + m³ = 72
    /// every 10, and 2m²a + 2ma² = 96 each step.
    /// At B = 1 with a running average of 0.9 the apply runs in the low-rank order:
    /// 2B·(m² + a²) = 40 instead of 96, the factors (a² + m²)·B = 20 every 10 steps. With α = 1
    /// (2B < a) the input factor is low-rank too: the apply 2B·m² + 4B²·a = 24, G alone
    /// m²·B = 4 every 10 steps, the refreshes 3B²·a + B³/3 + m³ = 20⅓ every 10. The trust
    /// region adds ⟨D, ∇W̃⟩ (2·m·a = 16); in the low-rank order ∇W̃ is not formed, and the
    /// product at B = 1 comes from the apply's rows, 2·B²·(m + a + 1) = 14 instead of
    /// 2·B·m·a + 2·m·a = 32.
    @Test func kfacCountsFactorsInversesAndApply() throws {
        func dense(batch: Int, runningAverage: Double = 1, klClip: Double?) throws -> Double {
            try flops(KFACOptimizer<Double>(configuration: KFACConfiguration(
                inverseInterval: 10, runningAverage: runningAverage, batchSize: batch, klClip: klClip))).dense
        }
        #expect(abs(try dense(batch: 8, klClip: nil) - 119.2) < 1e-9)
        #expect(abs(try dense(batch: 1, runningAverage: 0.9, klClip: nil) - (40 + 2 + 7.2)) < 1e-9)
        #expect(abs(try dense(batch: 1, klClip: nil) - (24 + 0.4 + 61.0 / 30)) < 1e-9)
        #expect(abs(try dense(batch: 8, klClip: 1e-3) - (119.2 + 16)) < 1e-9)
        #expect(abs(try dense(batch: 1, runningAverage: 0.9, klClip: 1e-3) - (40 + 2 + 7.2 + 14)) < 1e-9)
        #expect(abs(try dense(batch: 1, klClip: 1e-3) - (24 + 0.4 + 61.0 / 30 + 14)) < 1e-9)
        #expect(try flops(KFACOptimizer<Double>()).vector == 0)
    }

    /// NG+ counts its plan: on the right side by an explicit inverse of order a = 4, the apply
    /// `G̃·F̂⁻¹` (2·m·a² = 64) each step, the refresh (a³ = 64) and the statistics every 10.
    @Test func ngPlusCountsItsPlan() throws {
        let configuration = NGPlusConfiguration(inverseInterval: 10, side: .right, method: .explicitInverse, batchSize: 8)
        var optimizer = try NGPlusOptimizer<Double>(configuration: configuration)
        let (dense, vector) = (try optimizer.register(Self.dense), try optimizer.register(Self.vector))
        let plan = try #require(try optimizer.plan(for: dense))
        #expect(plan.applyFlops == 64 && plan.refreshFlops == 64)
        #expect(try optimizer.extraFlopsPerStep(of: dense) == 64 + 6.4 + plan.statisticsFlops / 10)
        #expect(try optimizer.extraFlopsPerStep(of: vector) == 0)
    }

    /// Of NG+'s statistics of a convolution, the per-sample gradients (`2·c_out·(K + 1)·P` a
    /// sample: 2·3·10·16 = 960, 7,680 for a batch of 8) every statistics step, here every 5th;
    /// nothing for a dense layer, K-FAC's factors or a first-order rule.
    @Test func theSampleGradientsOfAConvolutionAreCountedApart() throws {
        let geometry = try ConvGeometry(inChannels: 1, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, padding: 1)
        let conv = LayerSpec.conv2d(geometry: geometry, outChannels: 3, bias: true)
        var ngplus = try NGPlusOptimizer<Double>(configuration: NGPlusConfiguration(inverseInterval: 5, batchSize: 8))
        let (convolution, dense) = (try ngplus.register(conv), try ngplus.register(Self.dense))
        #expect(try ngplus.sampleGradientFlopsPerStep(of: convolution) == 7_680.0 / 5)
        #expect(try ngplus.extraFlopsPerStep(of: convolution) > 7_680.0 / 5)
        #expect(try ngplus.sampleGradientFlopsPerStep(of: dense) == 0)
        var kfac = try KFACOptimizer<Double>(configuration: KFACConfiguration(batchSize: 8))
        let kfacConvolution = try kfac.register(conv)
        #expect(try kfac.sampleGradientFlopsPerStep(of: kfacConvolution) == 0)
        var sgd = try SGDOptimizer<Double>(settings: SGDSettings())
        let sgdConvolution = try sgd.register(conv)
        #expect(try sgd.sampleGradientFlopsPerStep(of: sgdConvolution) == 0)
    }

    @Test func anUnregisteredLayerIsRefused() throws {
        let optimizer = try SGDOptimizer<Double>(settings: SGDSettings())
        #expect(throws: OptimizerError.self) { try optimizer.extraFlopsPerStep(of: LayerHandle.unregistered) }
        #expect(throws: OptimizerError.self) { try optimizer.sampleGradientFlopsPerStep(of: LayerHandle.unregistered) }
    }
}
