/// Deterministic random numbers (SplitMix64): the same stream on every platform and Swift version.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }
    /// Uniform integer in 0..<n (n > 0), unbiased.
    public mutating func below(_ n: Int) -> Int { Int(next(upperBound: UInt64(n))) }
    /// Fisher–Yates, written out so the order never depends on the standard library's algorithm.
    public mutating func shuffle<T>(_ a: inout [T]) {
        if a.count < 2 { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = below(i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }
}

/// Mixes several values into one seed, so per-task and per-epoch streams are independent and
/// do not depend on where a task runs.
public func deriveSeed(_ parts: UInt64...) -> UInt64 {
    var g = SplitMix64(seed: 0x5EED_5EED)
    var h: UInt64 = 0
    for p in parts {
        g = SplitMix64(seed: h ^ p &* 0x9E37_79B9_7F4A_7C15)
        h = g.next()
    }
    return h
}
