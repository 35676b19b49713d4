/// The weight-gradient loops of the C conv kernels. The weight gradient of one kernel tap is a small matrix
/// product, dweight[tap] (C x OC) += in[positions] (positions x C)^T . dz[positions] (positions x OC); accumulating
/// it in memory position by position serializes every update on the same cache line, so it is accumulated instead
/// in registers, as the schedule blocks it (`ConvWeightGradientBlocking`), and written back once per tap.
extension CKernels {
    /// The first (inclusive) and last (exclusive) output row whose tap `k` lands inside an input of `size` rows.
    func outputRange(_ v: String, tap k: String, stride s: Int, pad: Int, input size: Int, outputs: Int) -> [String] {
        if s == 1 {
            // Output o reads input o - pad + k: it lies inside for pad - k <= o < size + pad - k.
            return [
                "const int \(v)0 = \(pad > 0 ? "\(pad) > \(k) ? \(pad) - \(k) : 0" : "0");",
                "const int \(v)1 = \(size + pad) - \(k) < \(outputs) ? \(size + pad) - \(k) : \(outputs);",
            ]
        }
        let first = pad > 0 ? "\(pad) > \(k) ? (\(pad) - \(k) + \(s - 1)) / \(s) : 0" : "0"
        return [
            "const int \(v)0 = \(first);",
            "const int \(v)t = \(size - 1 + pad) - \(k);",
            "const int \(v)1 = \(v)t < 0 ? 0 : (\(v)t / \(s) + 1 < \(outputs) ? \(v)t / \(s) + 1 : \(outputs));",
        ]
    }

    /// For each tap, `b.channels` input channels x `b.positions` output positions of accumulators over all
    /// filters, through `b.samples` samples at a time, then added to dweight.
    func blockedWeightGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                               _ b: ConvWeightGradientBlocking) {
        let i = g.input, o = g.output
        let (cb, positions, group) = (b.channels, b.positions, b.samples)
        c.line("// weight gradient: for each tap, dweight[ky,kx,c,oc] += sum over n, oy, ox of in[n,iy,ix,c] * "
               + "dz[n,oy,ox,oc],")
        c.line("// over the outputs whose tap lands inside the input; \(cb) channel(s) x \(positions) position(s) of "
               + "accumulators in registers")
        c.line("// through \(group) sample(s) at a time, then added to dweight")
        c.loop("", "ky", to: w.kernel.y) { c in
            outputRange("oy", tap: "ky", stride: w.stride.y, pad: w.padding.top, input: i.h, outputs: o.h)
                .forEach { c.line($0) }
            c.loop("", "kx", to: w.kernel.x) { c in
                outputRange("ox", tap: "kx", stride: w.stride.x, pad: w.padding.left, input: i.w, outputs: o.w)
                    .forEach { c.line($0) }
                // acc[u][cb][oc] of position u, channel c0 + cb (no index for one position or one channel)
                let (channels, ch) = CodeWriter.counted("", "cb", to: cb)
                let acc = { (u: String) in Index.element("acc", positions == 1 ? nil : u, cb == 1 ? nil : ch, "oc") }
                c.loop("SCALAR_LOOP ", "c0", to: i.c, step: cb) { c in
                    sampleGroups(&c, samples: group, input: i, output: o, filters: oc, window: w) { c in
                        c.line(Index.element("float acc", positions == 1 ? nil : "\(positions)",
                                             cb == 1 ? nil : "\(cb)", "\(oc)") + ";")
                        c.line((positions == 1 ? "" : "for (int u = 0; u < \(positions); u++) ")
                               + channels + "for (int oc = 0; oc < \(oc); oc++) \(acc("u")) = 0.0f;")
                    } row: { c in
                        c.line("int ox = ox0;")
                        let ix = { (v: String) in Index.tap(v, "kx", stride: w.stride.x, pad: w.padding.left) }
                        if positions > 1 {
                            c.block("for (; ox + \(positions) <= ox1; ox += \(positions))") { c in
                                for u in 0..<positions {
                                    c.line("const float* restrict x\(u) = xr + (\(ix("(ox + \(u))"))) * \(i.c);")
                                    c.line("const float* restrict d\(u) = dr + (ox + \(u)) * \(oc);")
                                }
                                c.loop("UNROLLED_LOOP ", "cb", to: cb) { c, ch in
                                    for u in 0..<positions {
                                        c.line("for (int oc = 0; oc < \(oc); oc++) "
                                               + "\(acc("\(u)")) += x\(u)[\(ch)] * d\(u)[oc];")
                                    }
                                }
                            }
                        }
                        c.block("for (; ox < ox1; ox++)") { c in
                            c.line("const float* restrict x0 = xr + (\(ix("ox"))) * \(i.c);")
                            c.line("const float* restrict d0 = dr + ox * \(oc);")
                            c.line((channels.isEmpty ? "" : "UNROLLED_LOOP " + channels)
                                   + "for (int oc = 0; oc < \(oc); oc++) \(acc("0")) += x0[\(ch)] * d0[oc];")
                        }
                    } flush: { c in
                        c.line("float* restrict dwp = dweight + ((ky * \(w.kernel.x) + kx) * \(i.c) + c0) * \(oc);")
                        let at = Index.add(Index.times(ch, oc), "oc")
                        if positions == 1 {
                            c.line(channels + "for (int oc = 0; oc < \(oc); oc++) dwp[\(at)] += \(acc("0"));")
                        } else {
                            c.line(channels + "for (int oc = 0; oc < \(oc); oc++) {")
                            c.line("    float s = 0.0f;")
                            c.line("    for (int u = 0; u < \(positions); u++) s += \(acc("u"));")
                            c.line("    dwp[\(at)] += s;")
                            c.line("}")
                        }
                    }
                }
            }
        }
    }

    /// The thread's samples [n0, n1) in groups of `group` (one at a time for 1) for a weight gradient of tap row ky
    /// and channels from c0: for each group `declare` declares its accumulators, `row` adds each sample n's output
    /// row oy in [oy0, oy1) to them (with its input row xr from channel c0 and its dz row dr), and `flush` adds
    /// them to dweight, so that each accumulator's sum stays within the accumulation bound.
    func sampleGroups(_ c: inout CodeWriter, samples group: Int, input i: Shape, output o: Shape, filters oc: Int,
                      window w: Window, declare: (inout CodeWriter) -> Void, row: (inout CodeWriter) -> Void,
                      flush: (inout CodeWriter) -> Void) {
        let samples = group == 1 ? "SCALAR_LOOP for (int n = n0; n < n1; n++)"
            : "SCALAR_LOOP for (int s0 = n0; s0 < n1; s0 += \(group))"
        c.block(samples) { c in
            if group > 1 { c.line("const int s1 = n1 - s0 < \(group) ? n1 : s0 + \(group);") }
            declare(&c)
            let rows = (group == 1 ? "" : "SCALAR_LOOP for (int n = s0; n < s1; n++) ")
                + "SCALAR_LOOP for (int oy = oy0; oy < oy1; oy++)"
            c.block(rows) { c in
                let iy = Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top)
                c.line("const float* restrict xr = in + \(Index.nhwc("n", "(\(iy))", "0", "c0", i));")
                c.line("const float* restrict dr = dout + \(Index.sample("n", stride: dyStride, "oy * \(o.w * oc)"));")
                row(&c)
            }
            flush(&c)
        }
    }

    /// The single-pass backward (`ConvBackwardForm.singlePass`), per output position: dz = activation'(out) *
    /// dout, the bias gradients, and dz times every tap's input added to that tap's weight gradient, held in
    /// registers for the whole sample.
    func singlePassWeightGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                                  taps: Int) {
        let i = g.input, o = g.output
        // A residual's gradient is dz in dout's storage (the plan aliases it), so dz is stored where the
        // activation changes it.
        let storesDz = g.residuals > 0 && g.activation != nil
        c.line("// one pass per sample: the activation gradient, the bias gradients, and the whole weight gradient")
        c.line("// (\(taps) taps x \(oc) outputs) in registers; " + (storesDz
            ? "dz is stored in place: it is the residuals' gradient"
            : "dz is not stored, since nothing after this kernel reads it"))
        c.line("float acc[\(taps)][\(oc)];")
        c.line("UNROLLED_LOOP for (int t = 0; t < \(taps); t++) for (int oc = 0; oc < \(oc); oc++) acc[t][oc] = 0.0f;")
        c.block("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++) "
                + "SCALAR_LOOP for (int ox = 0; ox < \(o.w); ox++)") { c in
            c.line("const int p = oy * \(o.w) + ox;")
            c.line("\(storesDz ? "" : "const ")float* restrict d = dout + "
                   + "\(Index.sample("n", stride: dyStride, "p * \(oc)"));")
            if g.activation != nil {
                c.line("const float* restrict y = out + ((size_t)n * \(o.h * o.w) + p) * \(oc);")
            }
            c.line("float dz[\(oc)];")
            c.block("for (int oc = 0; oc < \(oc); oc++)") { c in
                // d[oc] is loaded unconditionally, so that the ReLU mask is a select, not a branch per element
                c.line("const float dv = d[oc];")
                c.line("dz[oc] = \(lang.activationGradient("dv", output: "y[oc]", g.activation));")
                if storesDz { c.line("d[oc] = dz[oc];") }
                for (k, b) in g.biases.enumerated() {
                    let at = b.kind == .channel ? "oc" : "p * \(oc) + oc"
                    c.line("dbias\(k)[\(at)] += dz[oc];  // \(b.parameter.name)")
                }
            }
            c.block("UNROLLED_LOOP for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
                c.line("const int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
                if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
                c.block("UNROLLED_LOOP for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                    c.line("const int ix = \(Index.tap("ox", "kx", stride: w.stride.x, pad: w.padding.left));")
                    if w.padding.left > 0 || w.padding.right > 0 { c.line("if (ix < 0 || ix >= \(i.w)) continue;") }
                    c.line("const float* restrict xp = in + \(Index.nhwc("n", "iy", "ix", "0", i));")
                    let (channels, ch) = CodeWriter.counted("UNROLLED_LOOP ", "c", to: i.c)
                    let tap = Index.add(Index.times("ky", w.kernel.x), "kx")
                    c.line(channels + "for (int oc = 0; oc < \(oc); oc++) "
                           + "acc[\(Index.add(Index.times(tap, i.c), ch))][oc] += xp[\(ch)] * dz[oc];")
                }
            }
        }
        c.line("UNROLLED_LOOP for (int t = 0; t < \(taps); t++) for (int oc = 0; oc < \(oc); oc++) "
               + "dweight[t * \(oc) + oc] += acc[t][oc];")
    }
}
