/// Conv shaders of the GLSL printer, register-blocked as the schedule says (`GPUConvSchedule`): an invocation
/// computes a small block of outputs (up to 8 columns x 4 channels) so that every value it loads feeds several
/// multiply-adds; neighbouring invocations take neighbouring channel blocks, so their weight loads are contiguous
/// and their input loads the same.
/// Backward: the activation gradient in place (dz), the input gradient as a gather over the kernel taps (each input
/// element sums its own terms, no atomics), and the parameter gradients as deterministic reductions.
extension GLSLProgram {
    func convForward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, filters oc: Int, window w: Window) -> GLSLShader {
        let i = g.input, o = g.output
        let W = offset(g.weight!)
        let tile = Schedule.gpuConv(g, filters: oc, window: w).forward
        let cb = tile.channels, xb = tile.columns
        let groups = oc / cb, columns = (o.w + xb - 1) / xb
        let padX = w.padding.left > 0 || w.padding.right > 0, tail = o.w % xb != 0
        let T = GLSLText.vec(cb)
        return shader(k.name, kernel: ki, group: g, what: [
            "in is \(GLSLText.nhwc(i)), weight is (\(w.kernel.y),\(w.kernel.x),\(i.c),\(oc)) at params[\(W)], "
                + "out is \(GLSLText.nhwc(o))",
            "One invocation per sample n, output row oy, \(xb) output columns from ox0 and \(cb) output channels "
                + "from oc (channels fastest).",
        ], bindings: [bind(k.operands.input!, as: "x", .read), params(g)] + residualBindings(k)
            + [bind(k.operands.output!, as: "y", .write)],
        threads: .perSample(o.h * columns * groups),
        note: "\(xb) columns x \(cb) filters per invocation (register blocking)") { c in
            c.line("int oc = (t % \(groups)) * \(cb);")
            c.line("int ox0 = ((t / \(groups)) % \(columns)) * \(xb);")
            c.line("int oy = (t / \(groups * columns)) % \(o.h);")
            c.line("int n = t / \(groups * columns * o.h);")
            c.line("\(T) acc[\(xb)];")
            c.line("for (int j = 0; j < \(xb); j++) acc[j] = \(T)(0.0);")
            c.block("for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
                c.line("int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
                if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
                c.block("for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                    c.line("int xi[\(xb)];  // where each column's input pixel starts"
                           + (padX ? "; m: 0 where it is padding" : ""))
                    if padX { c.line("float m[\(xb)];") }
                    c.block("for (int j = 0; j < \(xb); j++)") { c in
                        c.line("int ix = \(Index.tap("(ox0 + j)", "kx", stride: w.stride.x, pad: w.padding.left));")
                        if padX { c.line("m[j] = ix >= 0 && ix < \(i.w) ? 1.0 : 0.0;") }
                        let ix = padX || tail ? "clamp(ix, 0, \(i.w - 1))" : "ix"
                        c.line("xi[j] = \(GLSLText.nhwc("n", "iy", ix, "0", i));")
                    }
                    c.line("int wb = \(W) + (ky * \(w.kernel.x) + kx) * \(i.c * oc) + oc;")
                    c.block("for (int c = 0; c < \(i.c); c++)") { c in
                        c.line("\(T) wv = \(GLSLText.load("params", "wb + c * \(oc)", cb));")
                        let x = padX ? "(x[xi[j] + c] * m[j])" : "x[xi[j] + c]"
                        c.line("for (int j = 0; j < \(xb); j++) acc[j] += \(x) * wv;")
                    }
                }
            }
            c.block("for (int j = 0; j < \(xb); j++)") { c in
                c.line("int ox = ox0 + j;")
                if tail { c.line("if (ox >= \(o.w)) break;") }
                c.line("int ob = \(GLSLText.nhwc("n", "oy", "ox", "oc", o));")
                c.block("for (int k = 0; k < \(cb); k++)") { c in
                    c.line("float v = \(cb == 1 ? "acc[j]" : "acc[j][k]");")
                    epilogue(g, channel: "oc + k", element: "(oy * \(o.w) + ox) * \(oc) + oc + k", at: "ob + k")
                        .forEach { c.line($0) }
                    c.line("y[ob + k] = v;")
                }
            }
        }
    }

    mutating func convBackward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let prologue = Lowering.backwardPrologue(plan, ki, g, .invocationGrid, inputGradient: false,
                                                 activationInConsumers: Schedule.gpuFusesActivationGradient(g))
        append(prologue.filter { $0.reduction == nil })
        if g.needsInputGradient { shaders.append(convInputGradient(k, ki, g, filters: oc, window: w)) }
        convWeightGradient(k, ki, g, filters: oc, window: w)
        append(prologue.filter { $0.reduction != nil })
    }

    /// din[n,iy,ix,c] = sum over the taps whose output (oy, ox) reads (iy, ix) and over oc of weight[ky,kx,c,oc] * dz.
    func convInputGradient(_ k: Kernel, _ ki: Int, _ g: FusedGroup, filters oc: Int, window w: Window) -> GLSLShader {
        let i = g.input, o = g.output
        let W = offset(g.weight!)
        let tile = Schedule.gpuConv(g, filters: oc, window: w).inputGradient
        let cb = tile.channels, xb = tile.columns
        let groups = i.c / cb, columns = (i.w + xb - 1) / xb, tail = i.w % xb != 0
        let T = GLSLText.vec(cb)
        let (sy, sx) = (w.stride.y, w.stride.x)
        return shader(k.name + "_dx", kernel: ki, group: g, what: [
            "input gradient: din[n,iy,ix,c] = sum over taps and oc of weight[ky,kx,c,oc] * dz[n,oy,ox,oc]",
            "dz is \(GLSLText.nhwc(o)), weight (\(w.kernel.y),\(w.kernel.x),\(i.c),\(oc)) at params[\(W)], "
                + "din \(GLSLText.nhwc(i))",
            "One invocation per sample n, input row iy, \(xb) input columns from ix0 and \(cb) channels from c; "
                + "it gathers its terms (no atomics).",
        ], bindings: dzBindings(k, g) + [params(g),
                    bind(k.operands.inputGradient!, as: "dx", .write)],
        threads: .perSample(i.h * columns * groups),
        note: "\(xb) columns x \(cb) channels per invocation (register blocking)") { c in
            c.line("int c = (t % \(groups)) * \(cb);")
            c.line("int ix0 = ((t / \(groups)) % \(columns)) * \(xb);")
            c.line("int iy = (t / \(groups * columns)) % \(i.h);")
            c.line("int n = t / \(groups * columns * i.h);")
            c.line("\(T) acc[\(xb)];")
            c.line("for (int j = 0; j < \(xb); j++) acc[j] = \(T)(0.0);")
            c.block("for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
                let top = w.padding.top == 0 ? "" : " + \(w.padding.top)"
                c.line("int oys = iy\(top) - ky;  // = oy * \(sy) when output row oy reads iy")
                c.line("int oy = max(oys, 0)\(sy == 1 ? "" : " / \(sy)");")
                c.line("if (oys < 0\(sy == 1 ? "" : " || oy * \(sy) != oys") || oy >= \(o.h)) continue;")
                c.block("for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                    c.line("int di[\(xb)];  // where each column's output gradient starts; "
                           + "m: 0 where no output reads it")
                    c.line("float m[\(xb)];")
                    c.block("for (int j = 0; j < \(xb); j++)") { c in
                        c.line("int oxs = ix0 + j\(w.padding.left == 0 ? "" : " + \(w.padding.left)") - kx;")
                        c.line("int ox = max(oxs, 0)\(sx == 1 ? "" : " / \(sx)");")
                        let valid = "oxs >= 0" + (sx == 1 ? "" : " && ox * \(sx) == oxs") + " && ox < \(o.w)"
                            + (tail ? " && ix0 + j < \(i.w)" : "")
                        c.line("m[j] = \(valid) ? 1.0 : 0.0;")
                        c.line("di[j] = \(GLSLText.nhwc("n", "oy", "min(ox, \(o.w - 1))", "0", o));")
                    }
                    c.line("int wb = \(W) + ((ky * \(w.kernel.x) + kx) * \(i.c) + c) * \(oc);")
                    c.block("for (int oc = 0; oc < \(oc); oc++)") { c in
                        c.line("\(T) wv = \(GLSLText.load("params", "wb + oc", cb, stride: "\(oc)"));")
                        c.line("for (int j = 0; j < \(xb); j++) acc[j] += (\(dz(g, "di[j] + oc")) * m[j]) * wv;")
                    }
                }
            }
            c.block("for (int j = 0; j < \(xb); j++)") { c in
                c.line("int ix = ix0 + j;")
                if tail { c.line("if (ix >= \(i.w)) break;") }
                c.line("int db = \(GLSLText.nhwc("n", "iy", "ix", "c", i));")
                c.line("for (int k = 0; k < \(cb); k++) dx[db + k] = \(cb == 1 ? "acc[j]" : "acc[j][k]");")
            }
        }
    }

    /// dweight[ky,kx,c,oc] = sum over n, oy, ox of in[n,iy,ix,c] * dz[n,oy,ox,oc], a block of channels per invocation.
    mutating func convWeightGradient(_ k: Kernel, _ ki: Int, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output
        let p = g.weight!
        let block = Schedule.gpuConv(g, filters: oc, window: w).weightGradient
        let cb = block.inputs, ob = block.outputs
        let cg = i.c / cb, og = oc / ob
        let (X, D) = (GLSLText.vec(cb), GLSLText.vec(ob))
        let dv = dzVector(g, GLSLText.nhwc("n", "oy", "ox", "oc", o), ob)
        reduction(k.name + "_dw", kernel: ki, group: g, parameter: p,
                  what: "\(p.name) gradient: dweight[ky,kx,c,oc] = sum over n, oy, ox of in[n,iy,ix,c] * "
                      + "dz[n,oy,ox,oc]; in is \(GLSLText.nhwc(i)), dz \(GLSLText.nhwc(o))",
                  bindings: [bind(k.operands.input!, as: "x", .read)] + dzBindings(k, g),
                  rowsPerSample: o.h,
                  blocks: w.kernel.y * w.kernel.x * cg * og, perBlock: cb * ob, element: [
                      "int oc = (b % \(og)) * \(ob);  // the block: \(cb) input channels from c x \(ob) output "
                          + "channels from oc",
                      "int c = ((b / \(og)) % \(cg)) * \(cb);",
                      "int kx = (b / \(og * cg)) % \(w.kernel.x);",
                      "int ky = b / \(og * cg * w.kernel.x);",
                      "\(D) acc[\(cb)];",
                      "for (int k = 0; k < \(cb); k++) acc[k] = \(D)(0.0);",
                  ]) { c in
            c.line("int oy = r % \(o.h);")
            c.line("int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
            if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
            c.block("for (int ox = 0; ox < \(o.w); ox++)") { c in
                c.line("int ix = \(Index.tap("ox", "kx", stride: w.stride.x, pad: w.padding.left));")
                if w.padding.left > 0 || w.padding.right > 0 { c.line("if (ix < 0 || ix >= \(i.w)) continue;") }
                c.line("\(X) xv = \(GLSLText.load("x", GLSLText.nhwc("n", "iy", "ix", "c", i), cb));")
                c.line("\(D) dv = \(dv);")
                c.line("for (int k = 0; k < \(cb); k++) acc[k] += \(cb == 1 ? "xv" : "xv[k]") * dv;")
            }
        } index: { e in "((ky * \(w.kernel.x) + kx) * \(i.c) + c + \(e) / \(ob)) * \(oc) + oc + \(e) % \(ob)"
        } value: { e in ob == 1 ? "acc[\(e)]" : "acc[\(e) / \(ob)][\(e) % \(ob)]" }
    }
}
