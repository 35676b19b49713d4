/// Prints the C forward/backward pair of each fused group: plain loops over NHWC activations with every
/// shape a constant, the innermost loop over output channels so that the compiler vectorizes it.
struct CKernels {
    let plan: KernelPlan
    let lang = KernelLanguage.c
    /// Per-sample strides of the gradient buffers of the kernel being printed (its dout and din).
    var dyStride = 0
    var dxStride = 0

    /// The printer for one kernel of the plan, with the strides of its gradient buffers.
    func forKernel(_ k: Kernel) -> CKernels {
        var p = self
        func stride(_ name: String) -> Int {
            guard let b = plan.buffer(name) else { return 0 }
            guard b.role == .gradient else { return b.shape.count }
            return plan.gradientSlot(b.storage) ?? b.shape.count
        }
        if let dy = k.operands.outputGradient { p.dyStride = stride(dy) }
        if let dx = k.operands.inputGradient { p.dxStride = stride(dx) }
        return p
    }

    /// `// in is (N,28,28,1), weight is (3,3,1,16), out is (N,28,28,16)`
    func shapes(_ g: FusedGroup, residuals: Bool = false) -> String {
        var parts = ["in is \(nhwc(g.input))"]
        if let w = g.weight { parts.append("weight is \(w.layout.shapeComment)") }
        for (i, b) in g.biases.enumerated() { parts.append("bias\(i) is \(b.parameter.layout.shapeComment)") }
        if residuals { for r in 0..<g.residuals { parts.append("res\(r) is \(nhwc(g.output))") } }
        parts.append("out is \(nhwc(g.output))")
        return "// " + parts.joined(separator: ", ")
    }

    /// A path's last component as comment text (`Spelling.comment`): the generated code names no user path.
    func basename(_ path: String) -> String { Spelling.fileName(path) }

    func nhwc(_ s: Shape) -> String { s.flat ? "(N,\(s.count))" : "(N,\(s.h),\(s.w),\(s.c))" }

    func header(_ g: FusedGroup, _ suffix: String) -> [String] {
        let layers = g.layers.map { plan.network.layers[$0].name }.joined(separator: " + ")
        var lines = ["// \(g.name)_\(suffix): \(PlanPrinter.describe(g))  [\(layers); \(basename(g.location.file)):\(g.location.line)]",
                     shapes(g, residuals: suffix == "forward")]
        if suffix == "backward" && (dyStride != g.output.count || (g.needsInputGradient && dxStride != g.input.count)) {
            lines.append("// gradients live in shared slots: dout's samples are \(dyStride) floats apart, din's \(dxStride)")
        }
        return lines
    }

    func biasParams(_ g: FusedGroup, grad: Bool) -> String {
        g.biases.indices.map { ", \(grad ? "float* restrict dbias" : "const float* restrict bias")\($0)" }.joined()
    }

    /// The terms the forward epilogue adds before the activation: the biases, then the residuals, which are
    /// indexed like an element bias from the start of sample `sample` (a C expression) of their buffers.
    func epilogueBiases(_ g: FusedGroup, sample: String) -> [(kind: BiasKind, pointer: String, comment: String)] {
        g.biases.enumerated().map { i, b in
            if case .flatBias = b.parameter.layout { return (kind: b.kind, pointer: "bias\(i)", comment: "\(b.parameter.name) (one per element)") }
            return (kind: b.kind, pointer: "bias\(i)", comment: "\(b.parameter.name) (\(b.kind.rawValue))")
        } + g.residualInputs.enumerated().map { r, tensor in
            (kind: .element, pointer: "(res\(r) + (size_t)\(sample) * \(g.output.count))",
             comment: "the residual \(tensor)")
        }
    }

    /// The forward kernel's residual parameters (`FusedGroup.residuals`), after its biases.
    func residualParams(_ g: FusedGroup) -> String {
        (0..<g.residuals).map { ", const float* restrict res\($0)" }.joined()
    }

    // MARK: conv

    /// The tap loops shared with the GLSL printer.
    func taps(_ c: inout CodeWriter, _ w: Window, _ i: Shape, _ body: (inout CodeWriter) -> Void) {
        lang.taps(&c, w, i, body)
    }

    func convBackward(_ g: FusedGroup, filters oc: Int, window w: Window, _ form: ConvBackwardForm) -> String {
        let o = g.output
        var c = CodeWriter()
        header(g, "backward").forEach { c.line($0) }
        if case .perSample = form {
            c.line("// dout is \(nhwc(o)) and becomes dz (the gradient before the epilogue) in place; "
                   + "dweight, dbias accumulate")
        }
        let din = g.needsInputGradient ? ", float* restrict din" : ""
        c.block("static void \(g.name)_backward(float* restrict dout, const float* restrict in, "
                + "const float* restrict out, const float* restrict weight, "
                + "float* restrict dweight\(biasParams(g, grad: true))\(din), int n0, int n1)") { c in
            if !g.needsInputGradient { c.line("(void)weight;  // the first learnable layer needs no input gradient") }
            switch form {
            case let .singlePass(taps):
                // Without an activation (a conv before batchnorm) the gradient needs no output.
                if g.activation == nil { c.line("(void)out;") }
                c.block("for (int n = n0; n < n1; n++)") { c in
                    singlePassWeightGradient(&c, g, filters: oc, window: w, taps: taps)
                }
            case let .perSample(inputGradient, weightGradient):
                if g.activation == nil { c.line("(void)out;") }
                if inputGradient.transposesWeights { transposedWeights(&c, g, filters: oc, window: w) }
                c.line("// one sample at a time through the prologue and the input gradient, "
                       + "so that its gradient stays in cache")
                c.block("for (int n = n0; n < n1; n++)") { c in
                    prologue(&c, g, spatial: o.h * o.w, channels: oc, sample: "n")
                    self.inputGradient(&c, g, filters: oc, window: w, inputGradient)
                }
                if weightGradient.sharedTaps > 1 {
                    rowWeightGradient(&c, g, filters: oc, window: w, weightGradient)
                } else {
                    blockedWeightGradient(&c, g, filters: oc, window: w, weightGradient)
                }
            }
        }
        return c.text
    }

    /// The fused backward prologue: dz = dout * activation'(out) in place, and the bias gradients.
    /// Inside a loop over samples (`sample`), the caller says `(void)out;` before the loop where it is unused.
    func prologue(_ c: inout CodeWriter, _ g: FusedGroup, spatial: Int, channels: Int, sample: String? = nil) {
        if g.activation == nil && sample == nil { c.line("(void)out;") }
        if g.activation == nil && g.biases.isEmpty { return }
        c.line("// prologue: \(g.activation.map { "\($0.description) gradient, " } ?? "")bias gradients")
        let loops = sample == nil ? "for (int n = n0; n < n1; n++) SCALAR_LOOP for (int p = 0; p < \(spatial); p++)"
                                  : "SCALAR_LOOP for (int p = 0; p < \(spatial); p++)"
        c.block(loops) { c in
            c.line("float* restrict d = dout + \(Index.sample("n", stride: dyStride, channels == 1 ? "p" : "p * \(channels)"));")
            if g.activation != nil { c.line("const float* restrict y = out + ((size_t)n * \(spatial) + p) * \(channels);") }
            c.block("for (int oc = 0; oc < \(channels); oc++)") { c in
                c.line("const float dz = \(lang.activationGradient("d[oc]", output: "y[oc]", g.activation));")
                c.line("d[oc] = dz;")
                for (k, b) in g.biases.enumerated() {
                    let index = b.kind == .channel ? "oc" : "p * \(channels) + oc"
                    c.line("dbias\(k)[\(index)] += dz;  // \(b.parameter.name)")
                }
            }
        }
    }
}
