import Foundation
import NGPlus
import Testing

/// Shapes no machine can hold, or whose sizes overflow `Int`, are refused with a typed error at
/// `register` (and by `ConvGeometry`), by every optimizer, never a trap.
@Suite struct ImpossibleShapeTests {
    static let specs: [LayerSpec] = [
        .dense(outputs: 10, inputs: Int(Int32.max), bias: true),
        .dense(outputs: 1 << 20, inputs: 1 << 20, bias: false),
        .dense(outputs: Int.max, inputs: 2, bias: true),
        .matrix(rows: 1 << 31, columns: 1 << 31),
        .vector(length: Int.max),
    ]

    @Test(arguments: specs)
    func registerRefusesAnImpossibleLayer(spec: LayerSpec) throws {
        var ngplus = try NGPlusOptimizer<Float>()
        var kfac = try KFACOptimizer<Float>()
        var sgd = try SGDOptimizer<Float>(settings: SGDSettings())
        var adam = try AdamOptimizer<Double>(settings: AdamSettings())
        #expect(throws: NGError.self) { try ngplus.register(spec) }
        #expect(throws: NGError.self) { try kfac.register(spec) }
        #expect(throws: NGError.self) { try sgd.register(spec) }
        #expect(throws: NGError.self) { try adam.register(spec) }
    }

    /// 46,340² values (just under Int32.max), whose four Float buffers are 34 GB: refused
    /// before anything is allocated, by every optimizer, on a machine with less memory.
    @Test(.enabled(if: Double(ProcessInfo.processInfo.physicalMemory) < 4 * 4 * 46_340 * 46_340, "this machine holds it"))
    func registerRefusesALayerWhoseStateExceedsTheMachine() throws {
        let spec = LayerSpec.matrix(rows: 46_340, columns: 46_340)
        var optimizers: [any LayerOptimizer] = [
            try NGPlusOptimizer<Float>(), try KFACOptimizer<Float>(), try SGDOptimizer<Float>(settings: SGDSettings()),
            try AdamOptimizer<Float>(settings: AdamSettings()), try MuonOptimizer<Float>(settings: MuonSettings()),
            try ShampooOptimizer<Float>(settings: ShampooSettings()),
        ]
        for i in optimizers.indices {
            let error = #expect(throws: NGError.self) { try optimizers[i].register(spec) }
            guard case let .invalidArgument(_, _, reason)? = error else { continue }
            #expect(reason.contains("would need") && reason.contains("more than this machine's memory"), "\(reason)")
        }
    }

    @Test(arguments: [
        [1, 28, 28, 3, 3, 1, Int.max], [1, Int.max, 28, 3, 3, 1, 0], [1 << 31, 1, 1, 1 << 31, 1, 1, 1 << 31],
        [1 << 40, 2, 2, 1, 1, 1, 0], [1 << 16, 1 << 16, 1 << 16, 1, 1, 1, 0], [1, 1 << 20, 1 << 20, 1, 1, 1, 0],
    ])
    func convGeometryRefusesSizesThatOverflow(sizes: [Int]) {
        #expect(throws: NGError.self) {
            try ConvGeometry(
                inChannels: sizes[0], height: sizes[1], width: sizes[2], kernelHeight: sizes[3], kernelWidth: sizes[4],
                stride: sizes[5], padding: sizes[6])
        }
    }

    /// A geometry decoded from JSON goes through the same checks.
    @Test func aDecodedGeometryIsChecked() throws {
        let json = #"{"inChannels":1,"height":28,"width":28,"kernelHeight":3,"kernelWidth":3,"stride":1,"padding":9223372036854775807}"#
        #expect(throws: (any Error).self) { try JSONDecoder().decode(ConvGeometry.self, from: Data(json.utf8)) }
        let good = try ConvGeometry(inChannels: 2, height: 6, width: 6, kernelHeight: 3, kernelWidth: 3, padding: 1)
        #expect(try JSONDecoder().decode(ConvGeometry.self, from: JSONEncoder().encode(good)) == good)
    }
}
