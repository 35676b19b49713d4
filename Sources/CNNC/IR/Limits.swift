/// The largest networks cnnc accepts, in one place. Each limit is checked where a statement first exceeds it
/// (a diagnostic at that line); together they make every accepted network's arithmetic safe downstream:
///
/// - Generated C: indices within one sample (positions, channels, weight taps, block offsets) are `int`, since
///   `maxTensorElements` is 2^30: an index plus a register block (< 2^30) stays below 2^31. Offsets that scale
///   with the batch are `size_t` (`(size_t)n * elements`: up to `maxBatch` x 2^30, about 2^50). Parameter
///   offsets and ranges are `int` (`maxParameters` is 2^31 - 1), as the trainer's C interface has them.
/// - Reports: forward MACs per sample (2^40) x (1 + 2 backward) x 2 FLOPs x `maxBatch` (< 2^20) < 2^63; memory:
///   the plan's buffers (at most 3 per layer output, 4 bytes each) x `maxActivationElements` (2^36) x `maxBatch`
///   < 2^63.
/// - Vulkan (GLSL `int` is 32-bit): every buffer index at the trainer's largest batch must stay below 2^31; the
///   target checks that per network (`VulkanLimits`) and names the buffer when it does not.
public enum Limits {
    /// Any number written in a size: shape dimensions, filter and unit counts, kernel, stride, padding, batch.
    public static let maxNumber = 1_000_000
    /// Elements of one tensor per sample (an activation, or one parameter tensor such as a dense weight).
    public static let maxTensorElements = 1 << 30
    /// Parameters of the whole network (the trainer's parameter ranges are C `int`).
    public static let maxParameters = Int(Int32.max)
    /// Activation elements of one sample summed over the input and every layer's output.
    public static let maxActivationElements = 1 << 36
    /// Forward multiply-accumulates of one sample, whole network.
    public static let maxForwardMACs = 1 << 40
    /// Layer statements.
    public static let maxLayers = 100_000
    /// Samples per batch (`train batch=`, `--batch`).
    public static let maxBatch = maxNumber

    /// 1073741824 written as "2^30 (1073741824)" for messages.
    static func describe(_ limit: Int) -> String {
        if limit == Int(Int32.max) { return "2^31-1 (\(limit))" }
        if limit > 0, limit & (limit - 1) == 0 { return "2^\(limit.trailingZeroBitCount) (\(limit))" }
        return "\(limit)"
    }
}
