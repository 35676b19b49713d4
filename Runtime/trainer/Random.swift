// The trainer's only source of randomness: xoshiro256** seeded through SplitMix64, so that the same seed gives
// the same initial weights and the same shuffles on every machine.
import Foundation

/// SplitMix64: expands one 64-bit seed into a well-mixed state for xoshiro.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** with uniform, bounded-integer and normal draws. Deterministic for a given (seed, stream).
struct TrainerRandom {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareNormal: Double? = nil

    /// Independent streams from one seed: stream 0 initialises weights, stream 1 shuffles.
    init(seed: UInt64, stream: UInt64 = 0) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is a fixed point
    }

    /// The generator's position, for checkpoints: a resumed run checks that replaying its shuffles reached it.
    var state: [UInt64] { [s0, s1, s2, s3] }

    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    mutating func next() -> UInt64 {
        let result = TrainerRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = TrainerRandom.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    mutating func uniformFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func uniformDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in [-limit, limit).
    mutating func uniform(limit: Float) -> Float {
        (uniformFloat() * 2 - 1) * limit
    }

    /// Uniform integer in 0..<bound (bound > 0), unbiased (Lemire's multiply-and-reject).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold {
                product = next().multipliedFullWidth(by: b)
            }
        }
        return Int(product.high)
    }

    /// Standard normal (mean 0, deviation 1) by Box-Muller; the second value of each pair is kept for the next call.
    mutating func normal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        let u1 = 1.0 - uniformDouble()  // (0, 1]: log is finite
        let u2 = uniformDouble()
        let radius = (-2.0 * log(u1)).squareRoot()
        let angle = 2.0 * Double.pi * u2
        spareNormal = radius * sin(angle)
        return radius * cos(angle)
    }

    /// Fisher-Yates shuffle in place.
    mutating func shuffle(_ values: inout [Int32]) {
        var i = values.count - 1
        while i > 0 {
            let j = below(i + 1)
            values.swapAt(i, j)
            i -= 1
        }
    }
}
