import Testing
@testable import CNNC

/// An `add` of two tensors right after a conv or dense layer without activation, which alone reads that layer's
/// output, is folded into the layer's epilogue: the other operand (the residual) is added after the biases and
/// before the add's relu, and the add's kernel disappears. The gradients' correctness is GraphGradientTests'.
@Suite struct ResidualFusionTests {
    static func compile(_ source: String) throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: "net.cnn")
    }

    static func residual() throws -> Compilation {
        try Compilation(path: repositoryRoot.appendingPathComponent("Examples/residual.cnn").path)
    }

    @Test func residualExampleFusesBothAdds() throws {
        let c = try Self.residual()
        let names = { (g: FusedGroup) in g.layers.map { c.network.layers[$0].name } }
        let a2 = try #require(c.plan.groups.first { $0.name == "a2" })
        #expect(names(a2) == ["a2", "block1"] && a2.inputs == ["a1", "maxpool1"] && a2.residuals == 1)
        #expect(a2.activation == .relu && a2.outputTensor == "block1")
        #expect(PlanPrinter.describe(a2) == "conv 16 3x3/1 pad 1 + bias channel + add maxpool1 + relu")
        let proj = try #require(c.plan.groups.first { $0.name == "proj" })
        #expect(names(proj) == ["proj", "block2"] && proj.inputs == ["block1", "b2"] && proj.residualInputs == ["b2"])
        #expect(!c.plan.groups.contains { $0.op == .add })
        #expect(!c.plan.kernels.contains { $0.name.hasPrefix("block") })
        // The plan: the conv reads its residual, its backward writes the residual's gradient.
        let forward = try #require(c.plan.kernels.first { $0.name == "a2_forward" })
        #expect(forward.reads == ["a1_out", "maxpool1_out"] && forward.writes == ["a2_out"])
        let text = PlanPrinter.render(c.plan, batch: 64)
        #expect(text.contains("a2             conv 16 3x3/1 pad 1 + bias channel + add maxpool1 + relu a2 + block1"))
        #expect(text.contains("proj_backward           reads d_proj_out, a2_out, proj_out; writes d_a2_out, d_b2_out"))
        // Two activation buffers (the adds' outputs) are gone: 11 of 13.
        #expect(c.plan.buffers.filter { $0.role == .activation }.count == 11)
    }

    @Test("what stays a stand-alone add", arguments: [
        // the conv has its own activation
        "input 4x4x2\nconv 2 3x3 pad=same relu name=a\nconv 2 3x3 pad=same relu\nadd a\nflatten\ndense 2\nsoftmax",
        // three operands
        "input 4x4x2\nconv 2 3x3 pad=same name=a\nconv 2 3x3 pad=same name=b\nconv 2 3x3 pad=same\nadd a,b\nflatten\n"
            + "dense 2\nsoftmax",
        // the conv's output has another reader
        "input 4x4x2\nconv 2 3x3 pad=same name=a\nconv 2 3x3 pad=same name=b\nadd a\nadd b\nflatten\ndense 2\nsoftmax",
        // a pool is no conv
        "input 4x4x2\nconv 2 3x3 pad=same name=a\nmaxpool 3x3 stride=1 pad=same\nadd a\nflatten\ndense 2\nsoftmax",
    ])
    func notFused(_ source: String) throws {
        let c = try Self.compile(source)
        #expect(c.plan.groups.contains { $0.op == .add }, "\(source)")
        #expect(c.plan.groups.allSatisfy { $0.residuals == 0 })
    }

    @Test func aDenseTakesAResidualAndTheAddsReluComesLast() throws {
        let c = try Self.compile("input 4x4x1\nflatten\ndense 6 name=h1\ndense 6 name=h2\nadd h1\nrelu\ndense 2\nsoftmax")
        let h2 = try #require(c.plan.groups.first { $0.name == "h2" })
        #expect(h2.layers.count == 3 && h2.inputs == ["h1", "h1"] && h2.residuals == 1 && h2.activation == .relu)
        #expect(PlanPrinter.describe(h2) == "dense 6 + bias + add h1 + relu")
    }

    @Test func bothPrintersAddTheResidualBeforeTheActivation() throws {
        let c = try Self.residual()
        let kernels = try #require(try CPUTarget.generate(c).files["Sources/Kernels/kernels.c"])
        #expect(kernels.contains("// in is (N,14,14,16), weight is (3,3,16,16), bias0 is (16), res0 is (N,14,14,16), "
                                 + "out is (N,14,14,16)"))
        #expect(kernels.contains("vf16_relu(a0_0 + vf16_load(bias0) + vf16_load((res0 + (size_t)n * 3136) + oy * 224))"))
        #expect(kernels.contains("v += (res0 + (size_t)n * 1568)[p * 32 + oc];  // the residual b2"))
        #expect(kernels.contains("a2_forward(b->a1_out, params + 2480 /* a2.weight */, params + 4784 /* a2.bias */, "
                                 + "b->maxpool1_out,"))
        let program = try GLSLProgram(plan: c.plan)
        let shader = try #require(program.shaders.first { $0.name == "a2_forward" })
        #expect(shader.source.contains("v += r0[ob + k];  // the residual maxpool1"))
        let add = try #require(shader.source.range(of: "v += r0[ob + k];"))
        let relu = try #require(shader.source.range(of: "// relu"))
        #expect(add.upperBound < relu.lowerBound)
    }

    /// A first conv (no input gradient: the single-pass backward) whose residual needs a gradient stores dz in
    /// place, since the residual's gradient is that storage.
    @Test func singlePassBackwardStoresDzForItsResidual() throws {
        let c = try Self.compile(GraphGradientTests.nets[2].source)
        let kernels = try #require(try CPUTarget.generate(c).files["Sources/Kernels/kernels.c"])
        let c2 = try #require(kernels.range(of: "static void c2_backward("))
        let body = kernels[c2.lowerBound...].prefix(3000)
        #expect(body.contains("dz is stored in place: it is the residuals' gradient"))
        #expect(body.contains("d[oc] = dz[oc];"))
        let c1 = try #require(kernels.range(of: "static void c1_backward("))
        #expect(!kernels[c1.lowerBound...].prefix(3000).contains("d[oc] = dz[oc];"))
    }
}
