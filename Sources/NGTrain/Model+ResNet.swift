import NGPlus

extension Model {
    /// A ResNet for small images (the CIFAR family of He et al., ResNet-20 with the defaults):
    /// a 3×3 convolution to `widths[0]` channels, batch normalization and ReLU; then per stage i
    /// `blocks` residual blocks of `widths[i]` channels — 3×3 convolution (stride 2 in the first
    /// block of every stage after the first), BN, ReLU, 3×3 convolution, BN, plus the shortcut
    /// (the identity, or a strided 1×1 convolution and BN where the shape changes), then ReLU —
    /// and global average pooling into a dense layer of `classes`. Every ReLU is fused into the
    /// layer before it (`BatchNorm(rectify:)`, `Residual(rectify:)`). Images are sample-major rows
    /// of `channels·height·width` values; convolutions pad by 1 ("same" at stride 1).
    /// - Throws: `invalidArgument` for a size below 1, no stage, or an image that the strides
    ///   shrink below one pixel.
    public static func resnet(
        height: Int = 28, width: Int = 28, channels: Int = 1, classes: Int = 10, widths: [Int] = [16, 32, 64],
        blocks: Int = 3, seed: UInt64
    ) throws(NGError) -> Model {
        try NGError.Operation.modelResNet.require(
            !widths.isEmpty && blocks >= 1 && widths.allSatisfy({ $0 >= 1 }), "widths, blocks",
            "needs at least one stage of at least one channel and one block, got \(widths) and \(blocks)")
        var generator = SeededGenerator(seed: seed)
        func convolution(
            _ inChannels: Int, _ size: (Int, Int), _ outChannels: Int, kernel: Int, stride: Int, inputGradient: Bool = true
        ) throws(NGError) -> Conv2d<Scalar> {
            let geometry = try ConvGeometry(
                inChannels: inChannels, height: size.0, width: size.1, kernelHeight: kernel, kernelWidth: kernel,
                stride: stride, padding: kernel / 2)
            return try Conv2d<Scalar>(
                geometry: geometry, outChannels: outChannels, computesInputGradient: inputGradient, using: &generator)
        }
        var size = (height, width)
        let stem = try convolution(channels, size, widths[0], kernel: 3, stride: 1, inputGradient: false)
        var layers: [any NetworkLayer<Scalar>] = [
            stem, try BatchNorm<Scalar>(channels: widths[0], positions: height * width, rectify: true),
        ]
        var inChannels = widths[0]
        for (stage, outChannels) in widths.enumerated() {
            for block in 0..<blocks {
                let stride = stage > 0 && block == 0 ? 2 : 1
                let first = try convolution(inChannels, size, outChannels, kernel: 3, stride: stride)
                let out = (first.geometry.outHeight, first.geometry.outWidth)
                let positions = out.0 * out.1
                try NGError.Operation.modelResNet.require(
                    positions >= 1, "height, width", "\(height) × \(width) shrinks below a pixel")
                let shortcut: [any NetworkLayer<Scalar>] = stride == 1 && inChannels == outChannels ? [] : [
                    try convolution(inChannels, size, outChannels, kernel: 1, stride: stride),
                    try BatchNorm<Scalar>(channels: outChannels, positions: positions),
                ]
                layers.append(try Residual([
                    first, try BatchNorm<Scalar>(channels: outChannels, positions: positions, rectify: true),
                    try convolution(outChannels, out, outChannels, kernel: 3, stride: 1),
                    try BatchNorm<Scalar>(channels: outChannels, positions: positions),
                ], shortcut: shortcut, rectify: true))
                (size, inChannels) = (out, outChannels)
            }
        }
        layers.append(try GlobalAveragePool<Scalar>(channels: inChannels, positions: size.0 * size.1))
        layers.append(try Dense<Scalar>(inputs: inChannels, outputs: classes, using: &generator))
        return Model(layers: layers)
    }
}
