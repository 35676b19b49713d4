import Testing
@testable import CNNC

/// The graph layers' kernels exist once, as lowering rules: both printers spell every add, concat,
/// globalavgpool and gradient-sum kernel from the same lowered form, and the GLSL needs no atomics.
@Suite struct LoweringGraphTests {
    static func compile(_ source: String) throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: "net.cnn")
    }

    @Test(arguments: GraphGradientTests.nets.map(\.source)) func everyGraphKernelIsLowered(_ source: String) throws {
        let c = try Self.compile(source)
        for (ki, k) in c.plan.kernels.enumerated() {
            guard let gi = k.group, k.phase != .loss else { continue }
            let graphKernel = k.operands.gradientTerm != nil || [.add, .concat, .globalAvgPool].contains(c.plan.groups[gi].op)
            guard graphKernel else { continue }
            let cpu = try #require(Lowering.lower(c.plan, kernel: ki, for: .sampleRanges), "\(k.name) on the CPU")
            let gpu = try #require(Lowering.lower(c.plan, kernel: ki, for: .invocationGrid), "\(k.name) on the GPU")
            #expect(cpu.count == 1 && gpu.count == 1 && cpu[0].reduction == nil)
        }
        let (program, _) = try VulkanTarget.compile(c)
        #expect(!program.shaders.contains { $0.source.contains(/atomic[A-Z]/) })  // atomicAdd, atomicCompSwap, ...
    }

    @Test func theSameLoopsInCAndGLSL() throws {
        let c = try Self.compile(GraphGradientTests.nets[0].source)
        let ki = try #require(c.plan.kernels.firstIndex { $0.name == "conv2_backward_sum0" })
        let cText = CFrame(plan: c.plan).function(Lowering.lower(c.plan, kernel: ki)!)
        #expect(cText.contains("d[(size_t)n * 192 + i] += term[(size_t)n * 192 + i];"))
        let program = try GLSLProgram(plan: c.plan)
        let shader = try #require(program.shaders.first { $0.name == "conv2_backward_sum0" })
        #expect(shader.source.contains("d[n * 192 + i] += term[n * 192 + i];"))
        // The concat of graph_b copies each input's channels at its offset.
        let b = try Self.compile(GraphGradientTests.nets[1].source)
        let mix = try #require(b.plan.kernels.firstIndex { $0.name == "mix_forward" })
        let text = CFrame(plan: b.plan).function(Lowering.lower(b.plan, kernel: mix)!)
        #expect(text.contains("y[(size_t)n * 252 + p * 7 + 2 + ch] = x1[(size_t)n * 108 + (p * 3 + ch)];"), "\(text)")
    }
}
