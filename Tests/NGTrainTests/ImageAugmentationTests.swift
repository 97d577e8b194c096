import NGPlus
import NGTestSupport
import NGTrain
import Testing

/// Crops and flips against a plain reference, by hand, and as draws.
@Suite struct ImageAugmentationTests {
    /// The augmented image by the definition: pixel (y, x) is pixel (y + dy, x′ + dx), x′ = x or
    /// width − 1 − x, or 0 outside.
    func reference(_ image: [Float], channels: Int, height: Int, width: Int, dy: Int, dx: Int, flip: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: image.count)
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let (sy, sx) = (y + dy, (flip ? width - 1 - x : x) + dx)
                    if (0..<height).contains(sy) && (0..<width).contains(sx) {
                        out[(c * height + y) * width + x] = image[(c * height + sy) * width + sx]
                    }
                }
            }
        }
        return out
    }

    @Test func aFlipWithoutPaddingMirrorsEveryRowByHand() throws {
        let augmentation = try ImageAugmentation(padding: 0, horizontalFlip: true)
        let image = try Matrix<Float>(rows: 1, columns: 9, elements: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let flipped = try #require((0..<100).first { augmentation.draw(seed: 1, epoch: 1, index: $0).flip })
        let kept = try #require((0..<100).first { !augmentation.draw(seed: 1, epoch: 1, index: $0).flip })
        var output = Matrix<Float>(rows: 0, columns: 0)
        augmentation.apply(image, indices: [flipped], epoch: 1, seed: 1, height: 3, width: 3, into: &output)
        #expect(output.elements == [3, 2, 1, 6, 5, 4, 9, 8, 7])
        augmentation.apply(image, indices: [kept], epoch: 1, seed: 1, height: 3, width: 3, into: &output)
        #expect(output.elements == image.elements)
    }

    /// Two channels of 4 × 5, padding 2: every image of a batch against the reference with its
    /// own draw; an image's result does not depend on the batch it is in.
    @Test func cropsAndFlipsMatchTheReference() throws {
        let augmentation = try ImageAugmentation(padding: 2)
        var generator = SeededGenerator(seed: 501)
        let batch = Matrix<Float>.random(rows: 6, columns: 40, using: &generator)
        let indices = [3, 17, 4, 900, 5, 6][...]
        var output = Matrix<Float>(rows: 0, columns: 0)
        augmentation.apply(batch, indices: indices, epoch: 2, seed: 7, height: 4, width: 5, into: &output)
        for (row, index) in indices.enumerated() {
            let (dy, dx, flip) = augmentation.draw(seed: 7, epoch: 2, index: index)
            let image = (0..<40).map { batch[row, $0] }
            let expected = reference(image, channels: 2, height: 4, width: 5, dy: dy, dx: dx, flip: flip)
            #expect((0..<40).map { output[row, $0] } == expected)
            var alone = Matrix<Float>(rows: 0, columns: 0)
            let single = Matrix<Float>(rows: 1, columns: 40) { _, c in batch[row, c] }
            augmentation.apply(single, indices: [index], epoch: 2, seed: 7, height: 4, width: 5, into: &alone)
            #expect(alone.elements == expected)
        }
    }

    /// Over 4,000 images every shift in −2...2 occurs on both axes, about half are flipped, and
    /// another epoch draws again.
    @Test func drawsCoverTheirRangeAndChangeWithTheEpoch() throws {
        let augmentation = try ImageAugmentation(padding: 2)
        let draws = (0..<4000).map { augmentation.draw(seed: 3, epoch: 1, index: $0) }
        #expect(Set(draws.map(\.dy)) == Set(-2...2) && Set(draws.map(\.dx)) == Set(-2...2))
        let flips = draws.filter(\.flip).count
        #expect(flips > 1800 && flips < 2200)
        let next = (0..<4000).map { augmentation.draw(seed: 3, epoch: 2, index: $0) }
        #expect(zip(draws, next).filter { $0.0 != $0.1 }.count > 3000)
        #expect(throws: NGError.self) { try ImageAugmentation(padding: -1) }
    }
}
