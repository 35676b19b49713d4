@testable import CNNC

/// An implementation of dropout's mask generator written in the test, from its specification (Docs/language.md),
/// sharing no code with the compiler: it supplies the reference interpreter's masks and checks the lowered kernels'
/// masks element by element.
enum DropoutMasks {
    /// MurmurHash3's 32-bit finalizer.
    static func fmix32(_ x: UInt32) -> UInt32 {
        var h = x
        h ^= h >> 16
        h = h &* 0x85EB_CA6B
        h ^= h >> 13
        h = h &* 0xC2B2_AE35
        h ^= h >> 16
        return h
    }

    /// The trainer's --seed as the 32-bit seed of the key: both halves xored.
    static func seed32(_ seed: UInt64) -> UInt32 { UInt32(seed & 0xFFFF_FFFF) ^ UInt32(seed >> 32) }

    /// Whether element `element` (n * elements per sample + NHWC offset, mod 2^32) of dropout layer `layer` (its
    /// index among the network's layers) is dropped at training step `step`.
    static func isDropped(seed: UInt32, step: UInt32, layer: Int, element: UInt32, p: Double) -> Bool {
        let key = fmix32(fmix32(fmix32(seed) ^ UInt32(layer)) ^ step)
        let h = fmix32(fmix32(key ^ element) &+ key)
        let threshold = UInt32((p * 16_777_216).rounded())
        return h >> 8 < threshold
    }

    /// Every dropout layer's multipliers (0, or 1/(1-P)) for the samples of a batch, per sample in the reference
    /// interpreter's C,H,W order, keyed by layer name.
    static func masks(_ net: Network, batch: Int, seed: UInt64, step: UInt32) -> [String: [[Double]]] {
        var out: [String: [[Double]]] = [:]
        for (li, layer) in net.layers.enumerated() {
            guard case let .dropout(p) = layer.op else { continue }
            let s = layer.output
            out[layer.name] = (0..<batch).map { n in
                var mask = [Double](repeating: 0, count: s.count)
                for y in 0..<s.h {
                    for x in 0..<s.w {
                        for c in 0..<s.c {
                            let nhwc = (y * s.w + x) * s.c + c
                            let element = UInt32(truncatingIfNeeded: n * s.count + nhwc)
                            let dropped = isDropped(seed: seed32(seed), step: step, layer: li, element: element, p: p)
                            mask[(c * s.h + y) * s.w + x] = dropped ? 0 : 1 / (1 - p)
                        }
                    }
                }
                return mask
            }
        }
        return out
    }
}
