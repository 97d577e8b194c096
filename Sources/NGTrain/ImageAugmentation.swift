import NGPlus

/// Random crops with zero padding and horizontal flips of image rows, drawn anew every epoch:
/// each image is shifted by (dy, dx), each uniform in `-padding...padding` (what a crop of the
/// image padded by `padding` zeros on every side is), and mirrored left to right with
/// probability ½ when `horizontalFlip`. The draws of an image depend only on the seed, the
/// epoch and the image's index in the data set — not on the batch or on which process of a
/// data-parallel run holds it — so every world size trains on the same images.
public struct ImageAugmentation: Sendable, Equatable {
    /// The largest shift, in pixels.
    public let padding: Int
    /// Whether images are mirrored left to right half of the time.
    public let horizontalFlip: Bool

    /// - Throws: `invalidArgument` for a negative padding.
    public init(padding: Int = 2, horizontalFlip: Bool = true) throws(NGError) {
        try NGError.Operation.imageAugmentationInit.require(
            padding >= 0, "padding", "must be at least 0, got \(padding)")
        self.padding = padding
        self.horizontalFlip = horizontalFlip
    }

    /// The shift and flip of data-set image `index` in `epoch` of a run seeded `seed`.
    public func draw(seed: UInt64, epoch: Int, index: Int) -> (dy: Int, dx: Int, flip: Bool) {
        var generator = SeededGenerator(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(epoch) << 40 &+ UInt64(index))
        let dy = Int.random(in: -padding...padding, using: &generator)
        let dx = Int.random(in: -padding...padding, using: &generator)
        return (dy, dx, horizontalFlip && Bool.random(using: &generator))
    }

    /// Writes the augmented images of `batch` (rows of `channels·height·width` values, channel
    /// by channel, the images of data-set rows `indices`) into `output`: pixel (y, x) of a
    /// shifted image is pixel (y + dy, x′ + dx) of the original, x′ = x or its mirror, 0 outside.
    public func apply(
        _ batch: Matrix<Float>, indices: ArraySlice<Int>, epoch: Int, seed: UInt64, height: Int, width: Int,
        into output: inout Matrix<Float>
    ) {
        ensureShape(&output, batch.rows, batch.columns)
        let plane = height * width
        let channels = batch.columns / max(plane, 1)
        batch.withView { source in
            output.withMutableView { target in
                for (row, index) in indices.enumerated() {
                    let (dy, dx, flip) = draw(seed: seed, epoch: epoch, index: index)
                    let (image, out) = (source.base + row * batch.columns, target.base + row * batch.columns)
                    for c in 0..<channels {
                        for y in 0..<height {
                            let sourceY = y + dy
                            for x in 0..<width {
                                let sourceX = (flip ? width - 1 - x : x) + dx
                                let inside = sourceY >= 0 && sourceY < height && sourceX >= 0 && sourceX < width
                                out[c * plane + y * width + x] = inside ? image[c * plane + sourceY * width + sourceX] : 0
                            }
                        }
                    }
                }
            }
        }
    }
}
