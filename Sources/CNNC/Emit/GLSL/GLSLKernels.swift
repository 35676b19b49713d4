/// What the GLSL shaders share: the fused epilogue (biases, then the activation, spelled by KernelLanguage.glsl),
/// the loops over kernel taps (forward) and over the outputs that read an input (backward gathers), and the bias
/// gradients as deterministic reductions. Conv shaders are in GLSLConv.swift, dense ones in GLSLDense.swift.
extension GLSLProgram {
    var lang: KernelLanguage { .glsl }

    /// The epilogue on `v`: biases (read from `params` at their offsets), then the activation. `channel` and
    /// `element` index a bias before its offset is added.
    func epilogue(_ g: FusedGroup, channel: String, element: String) -> [String] {
        let biases = g.biases.map { b in
            (kind: b.kind, pointer: "params", comment: "\(b.parameter.name) (\(b.kind.rawValue)) at \(offset(b.parameter))")
        }
        var lines: [String] = []
        for (b, spelled) in zip(g.biases, biases) {
            let at = offset(b.parameter)
            lines += lang.epilogue("v", biases: [spelled], activation: nil, channel: "\(at) + \(channel)", element: "\(at) + \(element)")
        }
        return lines + lang.epilogue("v", biases: [], activation: g.activation, channel: channel, element: element)
    }

    /// The tap loops shared with the C printer.
    func taps(_ c: inout CodeWriter, _ w: Window, _ i: Shape, _ body: (inout CodeWriter) -> Void) {
        lang.taps(&c, w, i, body)
    }

    /// The transposed loop: for input (iy, ix), the kernel taps and the outputs (oy, ox) that read it.
    func outputsReading(_ c: inout CodeWriter, _ w: Window, _ o: Shape, _ body: (inout CodeWriter) -> Void) {
        func axis(_ c: inout CodeWriter, _ out: String, _ inp: String, _ k: String, stride: Int, pad: Int, size: Int,
                  _ inner: (inout CodeWriter) -> Void) {
            let kernel = k == "ky" ? w.kernel.y : w.kernel.x
            c.block("for (int \(k) = 0; \(k) < \(kernel); \(k)++)") { c in
                let shifted = pad == 0 ? "\(inp) - \(k)" : "\(inp) + \(pad) - \(k)"
                if stride == 1 {
                    c.line("int \(out) = \(shifted);")
                    c.line("if (\(out) < 0 || \(out) >= \(size)) continue;")
                } else {
                    c.line("int \(out)s = \(shifted);")
                    c.line("if (\(out)s < 0 || \(out)s % \(stride) != 0) continue;")
                    c.line("int \(out) = \(out)s / \(stride);")
                    c.line("if (\(out) >= \(size)) continue;")
                }
                inner(&c)
            }
        }
        axis(&c, "oy", "iy", "ky", stride: w.stride.y, pad: w.padding.top, size: o.h) { c in
            axis(&c, "ox", "ix", "kx", stride: w.stride.x, pad: w.padding.left, size: o.w, body)
        }
    }
}
