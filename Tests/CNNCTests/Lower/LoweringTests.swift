import Testing
@testable import CNNC

/// The target-neutral lowering and the one walk both printers share: the same IR spelled as C and as GLSL
/// differs only in the language's words.
@Suite struct LoweringTests {
    let c = KernelPrinter(lang: .c) { array, index in "\(array)[\(index)]" }
    let glsl = KernelPrinter(lang: .glsl) { array, index in "\(array)[\(index)]" }

    @Test func parenthesesOnlyWherePrecedenceNeedsThem() {
        #expect(c.expr(("a" + "b") * "c") == "(a + b) * c")
        #expect(c.expr("a" + "b" * "c") == "a + b * c")
        #expect(c.expr("a" - ("b" - "c")) == "a - (b - c)")
        #expect(c.expr(("a" - "b") - "c") == "a - b - c")
        #expect(c.expr(.select("a" > "b", "a", "b") * "c") == "(a > b ? a : b) * c")
        #expect(c.expr(.negate("a" + "b")) == "-(a + b)")
    }

    @Test func indicesReadAsWrittenByHand() {
        #expect(c.expr("n" * 1 + 0) == "n")
        #expect(c.expr("i" + -3) == "i - 3")
        #expect(c.expr(Lowering.flatIndex(("p", 1), ("ch", 16))) == "ch")
        #expect(c.expr(Lowering.flatIndex(("y", 7), ("x", 7), ("c", 32))) == "(y * 7 + x) * 32 + c")
    }

    @Test func oneExpressionTwoSpellings() {
        let e: Expr = .toFloat(.wide("n") * 784) * .call(.exp, [.float(0.5)]) + .call(.tanh, ["v"])
        #expect(c.expr(e) == "(float)((size_t)n * 784) * net_expf(0.5f) + net_tanhf(v)")
        #expect(glsl.expr(e) == "float(n * 784) * exp(0.5) + tanh(v)")
        #expect(c.expr(.negativeInfinity) == "-INFINITY")
        #expect(glsl.expr(.negativeInfinity) == "uintBitsToFloat(0xff800000u)")
    }

    @Test func statementsAreSpelledAlikeBySharedWalk() {
        let body: [Stmt] = [
            .constant("b", .index, .wide("n") * 10),
            .variable("s", .float, .float(0)),
            .loop("j", from: 0, to: 10, [.addAssign("s", .load("x", "b" + "j"))]),
            .when("s" > .float(1), [.store("y", "b", "s")]),
        ]
        var cc = CodeWriter(), gc = CodeWriter()
        c.print(body, into: &cc)
        glsl.print(body, into: &gc)
        #expect(cc.text == """
            const size_t b = (size_t)n * 10;
            float s = 0.0f;
            for (int j = 0; j < 10; j++) s += x[b + j];
            if (s > 1.0f) {
                y[b] = s;
            }

            """)
        #expect(gc.text == """
            int b = n * 10;
            float s = 0.0;
            for (int j = 0; j < 10; j++) s += x[b + j];
            if (s > 1.0) {
                y[b] = s;
            }

            """)
    }

    @Test func activationsAreDefinedOnceForEveryPrinter() {
        #expect(KernelLanguage.c.activate("v", .relu) == "v > 0.0f ? v : 0.0f")
        #expect(KernelLanguage.glsl.activate("v", .sigmoid) == "1.0 / (1.0 + exp(-v))")
        #expect(KernelLanguage.c.activationGradient("d", output: "y", .relu) == "(y > 0.0f ? d : 0.0f)")
        #expect(KernelLanguage.c.activationGradient("d", output: "y", .tanh) == "d * (1.0f - y * y)")
        #expect(KernelLanguage.glsl.activationGradient("d", output: "y", nil) == "d")
    }

    static func plan(_ source: String) throws -> KernelPlan {
        try Compilation(source: Array(source.utf8), file: "net.cnn").plan
    }

    @Test func softmaxReadsBackWhatItWrote() throws {
        let plan = try Self.plan("input 4x4x1\nscale 1/255\nflatten\ndense 10\nsoftmax\n")
        let ki = try #require(plan.kernels.firstIndex { $0.name == "softmax1_forward" })
        let k = try #require(Lowering.lower(plan, kernel: ki))
        #expect(k.grid.items.isEmpty)
        #expect(k.arrays.map(\.name) == ["x", "y"])
        #expect(k.arrays.map(\.access) == [.read, .readWrite])
        #expect(k.arrays.map(\.source) == [.buffer("dense1_out"), .buffer("probs")])
    }

    @Test func theGridLeavesOutCoordinatesOfExtentOne() throws {
        let plan = try Self.plan("input 1x1x16\nscale 1/255\nbias channel\nrelu\ndense 10\nsoftmax\n")
        let scale = try #require(Lowering.lower(plan, kernel: 0))
        #expect(scale.name == "input_scale" && scale.grid.items.map(\.name) == ["i"] && scale.grid.count == 16)
        let ki = try #require(plan.kernels.firstIndex { $0.name == "bias1_forward" })
        let bias = try #require(Lowering.lower(plan, kernel: ki))
        #expect(bias.grid.items.map(\.name) == ["ch"])  // one position, 16 channels: no loop over positions
        #expect(bias.arrays.map(\.source) == [.buffer("x"), .parameter("bias1.bias"), .buffer("bias1_out")])
    }

    @Test func kernelsWithoutARuleKeepTheirPrinterForms() throws {
        let plan = try Self.plan("input 4x4x1\nconv 2 3x3\nflatten\ndense 10\nsoftmax\n")
        let conv = try #require(plan.kernels.firstIndex { $0.name == "conv1_forward" })
        #expect(Lowering.lower(plan, kernel: conv) == nil)
    }
}

extension LoweringTests {
    @Test func planShowsTheLoweredFormInANeutralSpelling() throws {
        let plan = try Self.plan("input 4x4x1\nscale 1/255\nflatten\ndense 10\nsoftmax\n")
        let text = PlanPrinter.renderLowered(plan)
        #expect(text.contains("kernel 0 input_scale: y = x * 1/255  [scale]"))
        #expect(text.contains("    y[wide(n) * 16 + i] = x[wide(n) * 16 + i] * 0.00392156862745098;"))
        #expect(text.contains("    let index b = wide(n) * 10;"))
        #expect(text.contains("kernel 1 dense1_forward: per-target form"))
        #expect(!text.contains("1.0f") && !text.contains("size_t") && !text.contains("net_expf"))
    }
}

extension LoweringTests {
    /// A stand-alone bias and activation's backward: one rule, two shapes of work. Threads over sample ranges add
    /// the bias gradient as they go; an invocation grid stores dz and sums the bias in a reduction kernel.
    @Test func theBackwardPrologueFollowsTheTargetsWayOfSumming() throws {
        let plan = try Self.plan("input 3x3x4\nconv 4 1x1 bias=none\nbias channel\ntanh\nflatten\ndense 10\nsoftmax\n")
        let ki = try #require(plan.kernels.firstIndex { $0.name == "conv1_backward" })
        let g = plan.groups[plan.kernels[ki].group!]
        let threads = Lowering.backwardPrologue(plan, ki, g, .sampleRanges, inputGradient: false)
        #expect(threads.map(\.name) == ["conv1_backward"])
        #expect(threads[0].arrays.map(\.name) == ["dy", "y", "dbias0"])
        let grid = Lowering.backwardPrologue(plan, ki, g, .invocationGrid, inputGradient: false)
        #expect(grid.map(\.name) == ["conv1_backward_dz", "conv1_backward_db"])
        #expect(grid[0].arrays.map(\.access) == [.readWrite, .read])  // dz stored in place for the reduction
        let reduction = try #require(grid[1].reduction)
        #expect(reduction.parameter == "bias1.bias" && reduction.elements == 4 && reduction.rowsPerSample == 3)
        var text = CodeWriter()
        KernelPrinter(lang: .glsl) { "\($0)[\($1)]" }.print(grid[1].body, into: &text)
        #expect(text.text == "for (int x = 0; x < 3; x++) acc += dz[n * 36 + (row * 3 + x) * 4 + b];\n")
        // Where every reader of dz applies the derivative itself: no pass stores dz, the bias sums dy * tanh'(y).
        let fused = Lowering.backwardPrologue(plan, ki, g, .invocationGrid, inputGradient: false, activationInConsumers: true)
        #expect(fused.map(\.name) == ["conv1_backward_db"])
        #expect(fused[0].arrays.map(\.name) == ["dz", "y"])
        var fusedText = CodeWriter()
        KernelPrinter(lang: .glsl) { "\($0)[\($1)]" }.print(fused[0].body, into: &fusedText)
        #expect(fusedText.text.contains("dz[n * 36 + (row * 3 + x) * 4 + b] * (1.0 - y[n * 36 + (row * 3 + x) * 4 + b] * y[n * 36 + (row * 3 + x) * 4 + b])"), "\(fusedText.text)")
    }
}
