/// The Vulkan target's index check. GLSL's `int` is 32-bit, and the shaders index every buffer with it
/// (sample n's element j of a buffer of E per sample is n * E + j), count their invocations with it (pc.n * k) and
/// address the parameter arrays with it. So the largest batch a network can train with on this target is the
/// largest B for which every buffer's B * perSample + fixed and every shader's invocation count stay at most
/// 2^31-1. The compiler refuses a network whose `train batch=` exceeds it, naming the buffer that limits it, and
/// the trainer refuses a larger `--batch` (VulkanProgram.largestBatch).
enum VulkanLimits {
    static let maxIndex = Int(Int32.max)

    /// The largest batch (at most `Limits.maxBatch`) for which every index fits, and what limits it.
    static func largestBatch(_ program: GLSLProgram) -> (batch: Int, limitedBy: String) {
        var best = (batch: Limits.maxBatch, limitedBy: "")
        func limit(_ b: Int, _ what: String) { if b < best.batch { best = (max(0, b), what) } }
        for s in program.storages {
            if s.fixed > maxIndex { limit(0, "buffer \(s.name) (\(s.fixed) elements)") }
            if s.perSample > 0 {
                limit((maxIndex - s.fixed) / s.perSample, "buffer \(s.name) (\(s.perSample) elements per sample)")
            }
        }
        for shader in program.shaders {
            switch shader.threads {
            case .perSample(let k) where k > 0:
                limit(maxIndex / k, "shader \(shader.name) (\(k) invocations per sample)")
            case let .sampleBlocks(block, k) where k > 0:
                limit((maxIndex / k) * block, "shader \(shader.name) (\(k) invocations per \(block) samples)")
            case .fixed(let k) where k > maxIndex:
                limit(0, "shader \(shader.name) (\(k) invocations)")
            default: break
            }
        }
        return best
    }

    /// Throws when the network's train batch does not fit; returns the largest batch that does.
    static func check(_ program: GLSLProgram, plan: KernelPlan) throws -> Int {
        let (largest, what) = largestBatch(program)
        let batch = plan.network.train.batch
        guard largest < batch else { return largest }
        let file = plan.network.sourceFile
        if largest == 0 {
            throw CompileError("\(file): error: the vulkan target cannot run this network: \(what) exceeds the "
                               + "32-bit indices of GLSL (at most 2^31-1 elements); use the cpu target")
        }
        throw CompileError("\(file): error: the vulkan target indexes buffers with 32-bit GLSL ints: at batch "
                           + "\(batch), \(what) exceeds 2^31-1 elements; the largest batch it supports is \(largest) "
                           + "(set it with 'train batch=', or use the cpu target)")
    }
}
