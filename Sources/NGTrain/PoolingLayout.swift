/// Where the input planes of a 2×2 pooling are: `channels` planes of `height × width` per
/// sample, stored sample-major (`B × (c·h·w)`, plane of sample i, channel o at i·c + o) or
/// channel-major (`c × (B·h·w)`, at o·B + i, as a convolution's GEMM leaves them).
public struct PoolingLayout: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// The batch when the input is channel-major; nil for sample-major.
    public let channelMajorBatch: Int?

    /// Planes of `height × width`, `channels` per sample; `channelMajorBatch` is the batch of a
    /// channel-major input, nil for a sample-major one.
    public init(channels: Int, height: Int, width: Int, channelMajorBatch: Int?) {
        self.channels = channels
        self.height = height
        self.width = width
        self.channelMajorBatch = channelMajorBatch
    }

    /// The index of the input plane of (sample, channel).
    @inlinable
    public func inputPlane(sample: Int, channel: Int) -> Int {
        if let batch = channelMajorBatch { channel * batch + sample } else { sample * channels + channel }
    }
}
