/// The IEEE-754 bit pattern of a `BLASScalar`, assembled from its sign, exponent and significand
/// fields so that one definition serves Float (32 bits) and Double (64 bits); NaN payloads
/// survive the round trip.
extension BLASScalar {
    /// The bit pattern, zero-extended to 64 bits: what state files store.
    @inlinable
    public var storageBits: UInt64 {
        let significandBits = UInt64(Self.significandBitCount)
        let sign: UInt64 = self.sign == .minus ? 1 : 0
        return sign << (UInt64(Self.exponentBitCount) + significandBits)
            | UInt64(exponentBitPattern) << significandBits
            | UInt64(significandBitPattern)
    }

    /// The value of a `storageBits` pattern; nil when the pattern is wider than the type.
    @inlinable
    public init?(storageBits: UInt64) {
        let significandBits = Self.significandBitCount
        let width = 1 + Self.exponentBitCount + significandBits
        guard width == 64 || storageBits >> UInt64(width) == 0 else { return nil }
        let exponentMask: UInt64 = (1 << UInt64(Self.exponentBitCount)) - 1
        self.init(
            sign: storageBits >> UInt64(width - 1) == 1 ? .minus : .plus,
            exponentBitPattern: RawExponent(storageBits >> UInt64(significandBits) & exponentMask),
            significandBitPattern: RawSignificand(storageBits & ((1 << UInt64(significandBits)) - 1)))
    }
}
