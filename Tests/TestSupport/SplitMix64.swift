/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64):
/// the same seed gives the same inputs on every platform.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    /// The sequence that starts from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    /// True one time in `odds`.
    public mutating func chance(_ odds: Int) -> Bool { below(odds) == 0 }

    /// `count` bytes of the sequence, eight at a time, little-endian.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count + 8)
        while result.count < count {
            withUnsafeBytes(of: next().littleEndian) { result.append(contentsOf: $0) }
        }
        return Array(result.prefix(count))
    }
}
