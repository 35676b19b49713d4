/// Conv and dense shaders of the GLSL printer. Forward: one invocation per output element with the output
/// channel fastest, so that neighbouring invocations read neighbouring weights and share the input value.
/// Backward: the activation gradient in place (dz), the input gradient as a gather over the kernel taps (every
/// input element sums its own terms, no atomics), and the parameter gradients as deterministic reductions.
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

    /// Loops over the kernel taps of output (oy, ox) that land inside the input, with (iy, ix) in scope.
    func taps(_ c: inout CodeWriter, _ w: Window, _ i: Shape, _ body: (inout CodeWriter) -> Void) {
        c.block("for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
            c.line("int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
            if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
            c.block("for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                c.line("int ix = \(Index.tap("ox", "kx", stride: w.stride.x, pad: w.padding.left));")
                if w.padding.left > 0 || w.padding.right > 0 { c.line("if (ix < 0 || ix >= \(i.w)) continue;") }
                body(&c)
            }
        }
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

    // MARK: conv

    func convForward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, filters oc: Int, window w: Window) -> GLSLShader {
        let i = g.input, o = g.output
        let W = offset(g.weight!)
        return shader(k.name, kernel: ki, group: g, what: [
            "in is \(GLSLText.nhwc(i)), weight is (\(w.kernel.y),\(w.kernel.x),\(i.c),\(oc)) at params[\(W)], out is \(GLSLText.nhwc(o))",
            "One invocation per output element (n, oy, ox, oc), oc fastest.",
        ], bindings: [bind(k.reads[0], as: "x", .read), params(g), bind(k.writes[0], as: "y", .write)],
        threads: .perSample(o.count)) { c in
            GLSLProgram.split("t", o, y: "oy", x: "ox", c: "oc").forEach { c.line($0) }
            c.line("float acc = 0.0;")
            taps(&c, w, i) { c in
                c.line("int xb = \(GLSLText.nhwc("n", "iy", "ix", "0", i));")
                c.line("int wb = \(W) + (ky * \(w.kernel.x) + kx) * \(i.c * oc) + oc;")
                c.line("for (int c = 0; c < \(i.c); c++) acc += x[xb + c] * params[wb + c * \(oc)];")
            }
            c.line("float v = acc;")
            epilogue(g, channel: "oc", element: "(oy * \(o.w) + ox) * \(oc) + oc").forEach { c.line($0) }
            c.line("y[t] = v;")
        }
    }

    /// dz = dout * activation'(out), in place: the backward prologue, when the group has an activation.
    func activationGradient(_ k: Kernel, _ ki: Int, _ g: FusedGroup, count: Int, alsoInto dx: String? = nil) -> GLSLShader {
        var binds = [bind(k.reads[0], as: "dy", g.activation == nil ? .read : .readWrite), bind(k.reads[2], as: "y", .read)]
        if g.activation == nil { binds.remove(at: 1) }
        if let dx { binds.append(bind(dx, as: "dx", .write)) }
        let what = g.activation.map { "dout becomes dz = dout * \($0.rawValue)'(out) in place" } ?? "dz = dout"
        return shader(k.name + (dx == nil ? "_dz" : "_dx"), kernel: ki, group: g, what: [
            "\(what)\(dx == nil ? "" : ", and din = dz"); dout and out are \(GLSLText.nhwc(g.output)).",
            "One invocation per element.",
        ], bindings: binds, threads: .perSample(count)) { c in
            c.line("float dz = \(lang.activationGradient("dy[t]", output: "y[t]", g.activation));")
            if g.activation != nil { c.line("dy[t] = dz;") }
            if dx != nil { c.line("dx[t] = dz;") }
        }
    }

    mutating func convBackward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output
        let W = offset(g.weight!)
        let dy = k.reads[0], x = k.reads[1]
        if g.activation != nil { shaders.append(activationGradient(k, ki, g, count: o.count)) }
        if g.needsInputGradient {
            shaders.append(shader(k.name + "_dx", kernel: ki, group: g, what: [
                "input gradient: din[n,iy,ix,c] = sum over taps and oc of weight[ky,kx,c,oc] * dz[n,oy,ox,oc]",
                "dz is \(GLSLText.nhwc(o)), weight (\(w.kernel.y),\(w.kernel.x),\(i.c),\(oc)) at params[\(W)], din \(GLSLText.nhwc(i))",
                "One invocation per input element (n, iy, ix, c), c fastest; it gathers its terms (no atomics).",
            ], bindings: [bind(dy, as: "dz", .read), params(g), bind(k.writes[0], as: "dx", .write)],
            threads: .perSample(i.count)) { c in
                GLSLProgram.split("t", i, y: "iy", x: "ix", c: "c").forEach { c.line($0) }
                c.line("float acc = 0.0;")
                outputsReading(&c, w, o) { c in
                    c.line("int db = \(GLSLText.nhwc("n", "oy", "ox", "0", o));")
                    c.line("int wb = \(W) + ((ky * \(w.kernel.x) + kx) * \(i.c) + c) * \(oc);")
                    c.line("for (int oc = 0; oc < \(oc); oc++) acc += params[wb + oc] * dz[db + oc];")
                }
                c.line("dx[t] = acc;")
            })
        }
        let p = g.weight!
        reduction(k.name + "_dw", kernel: ki, group: g, parameter: p,
                  what: "\(p.name) gradient: dweight[ky,kx,c,oc] = sum over n, oy, ox of in[n,iy,ix,c] * dz[n,oy,ox,oc]; in is \(GLSLText.nhwc(i))",
                  bindings: [bind(x, as: "x", .read), bind(dy, as: "dz", .read)], rowsPerSample: o.h, element: [
                      "int oc = e % \(oc);", "int c = (e / \(oc)) % \(i.c);", "int kx = (e / \(oc * i.c)) % \(w.kernel.x);",
                      "int ky = e / \(oc * i.c * w.kernel.x);",
                  ]) { c in
            c.line("int oy = r % \(o.h);")
            c.line("int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
            if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
            c.block("for (int ox = 0; ox < \(o.w); ox++)") { c in
                c.line("int ix = \(Index.tap("ox", "kx", stride: w.stride.x, pad: w.padding.left));")
                if w.padding.left > 0 || w.padding.right > 0 { c.line("if (ix < 0 || ix >= \(i.w)) continue;") }
                c.line("acc += x[\(GLSLText.nhwc("n", "iy", "ix", "c", i))] * dz[\(GLSLText.nhwc("n", "oy", "ox", "oc", o))];")
            }
        }
        biasGradients(k, ki, g, dz: dy, output: o)
    }

    /// The gradient of each bias of the group: a sum of dz over the batch (and the positions, for a channel bias).
    mutating func biasGradients(_ k: Kernel, _ ki: Int, _ g: FusedGroup, dz: String, output o: Shape) {
        for (bi, b) in g.biases.enumerated() {
            let name = k.name + "_db\(g.biases.count == 1 ? "" : String(bi))"
            if b.kind == .channel && !o.flat {
                reduction(name, kernel: ki, group: g, parameter: b.parameter,
                          what: "\(b.parameter.name) gradient (channel): sum over n, y, x of dz[n,y,x,c]; dz is \(GLSLText.nhwc(o))",
                          bindings: [bind(dz, as: "dz", .read)], rowsPerSample: o.h, element: []) { c in
                    c.line("int y = r % \(o.h);")
                    c.line("for (int x = 0; x < \(o.w); x++) acc += dz[\(GLSLText.nhwc("n", "y", "x", "e", o))];")
                }
            } else {
                reduction(name, kernel: ki, group: g, parameter: b.parameter,
                          what: "\(b.parameter.name) gradient (per element): sum over n of dz[n,e]; dz is \(GLSLText.nhwc(o))",
                          bindings: [bind(dz, as: "dz", .read)], rowsPerSample: 1, element: []) { c in
                    c.line("acc += dz[n * \(o.count) + e];")
                }
            }
        }
    }

    // MARK: dense

    func denseForward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, units: Int) -> GLSLShader {
        let n = g.input.count
        let W = offset(g.weight!)
        return shader(k.name, kernel: ki, group: g, what: [
            "in is (N,\(n)), weight is (\(n),\(units)) at params[\(W)], out is (N,\(units))",
            "One invocation per output (n, o), o fastest.",
        ], bindings: [bind(k.reads[0], as: "x", .read), params(g), bind(k.writes[0], as: "y", .write)],
        threads: .perSample(units)) { c in
            c.line("int o = t % \(units);")
            c.line("int n = t / \(units);")
            c.line("float acc = 0.0;")
            c.line("for (int i = 0; i < \(n); i++) acc += x[n * \(n) + i] * params[\(W) + i * \(units) + o];")
            c.line("float v = acc;")
            epilogue(g, channel: "o", element: "o").forEach { c.line($0) }
            c.line("y[t] = v;")
        }
    }

    mutating func denseBackward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, units: Int) {
        let n = g.input.count
        let W = offset(g.weight!)
        let dy = k.reads[0], x = k.reads[1]
        if g.activation != nil { shaders.append(activationGradient(k, ki, g, count: units)) }
        if g.needsInputGradient {
            shaders.append(shader(k.name + "_dx", kernel: ki, group: g, what: [
                "input gradient: din[n,i] = sum over o of weight[i,o] * dz[n,o]; dz is (N,\(units)), din (N,\(n))",
                "One invocation per input element (n, i), i fastest.",
            ], bindings: [bind(dy, as: "dz", .read), params(g), bind(k.writes[0], as: "dx", .write)],
            threads: .perSample(n)) { c in
                c.line("int i = t % \(n);")
                c.line("int n = t / \(n);")
                c.line("float acc = 0.0;")
                c.line("for (int o = 0; o < \(units); o++) acc += params[\(W) + i * \(units) + o] * dz[n * \(units) + o];")
                c.line("dx[t] = acc;")
            })
        }
        let p = g.weight!
        reduction(k.name + "_dw", kernel: ki, group: g, parameter: p,
                  what: "\(p.name) gradient: dweight[i,o] = sum over n of in[n,i] * dz[n,o]; in is (N,\(n)), dz (N,\(units))",
                  bindings: [bind(x, as: "x", .read), bind(dy, as: "dz", .read)], rowsPerSample: 1,
                  element: ["int o = e % \(units);", "int i = e / \(units);"]) { c in
            c.line("acc += x[n * \(n) + i] * dz[n * \(units) + o];")
        }
        biasGradients(k, ki, g, dz: dy, output: g.output)
    }
}
