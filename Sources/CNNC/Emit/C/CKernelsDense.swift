/// Pooling and softmax (cross-entropy) kernels of the C printer.
extension CKernels {
    func poolForward(_ g: FusedGroup, _ kind: PoolKind, _ w: Window) -> String {
        let i = g.input, o = g.output
        let argmax = kind == .max && g.needsBackward
        var c = CodeWriter()
        header(g, "forward").forEach { c.line($0) }
        if argmax { c.line("// argmax is (N,\(o.h),\(o.w),\(o.c)): the winning input offset within its sample") }
        c.block("static void \(g.name)_forward(const float* restrict in, float* restrict out\(argmax ? ", int* restrict argmax" : ""), int n0, int n1)") { c in
            if kind == .max && i.c % 16 == 0 && i.c <= 128 {
                vectorMaxPool(&c, g, w, argmax: argmax)
                return
            }
            c.block("for (int n = n0; n < n1; n++) for (int oy = 0; oy < \(o.h); oy++) for (int ox = 0; ox < \(o.w); ox++)") { c in
                if kind == .max {
                    c.line("float best[\(i.c)]; int at[\(i.c)];")
                    c.line("for (int ch = 0; ch < \(i.c); ch++) { best[ch] = -INFINITY; at[ch] = 0; }")
                } else {
                    c.line("float sum[\(i.c)]; int count = 0;")
                    c.line("for (int ch = 0; ch < \(i.c); ch++) sum[ch] = 0.0f;")
                }
                taps(&c, w, i) { c in
                    c.line("const int base = (iy * \(i.w) + ix) * \(i.c);")
                    c.line("const float* restrict xp = in + (size_t)n * \(i.count) + base;")
                    if kind == .max {
                        // Selects, not a branch: the comparison is data-dependent.
                        c.line("for (int ch = 0; ch < \(i.c); ch++) { const float v = xp[ch]; const int take = v > best[ch]; best[ch] = take ? v : best[ch]; at[ch] = take ? base + ch : at[ch]; }")
                    } else {
                        c.line("count++;")
                        c.line("for (int ch = 0; ch < \(i.c); ch++) sum[ch] += xp[ch];")
                    }
                }
                c.line("const size_t j = \(Index.nhwc("n", "oy", "ox", "0", o));")
                if kind == .max {
                    c.line("for (int ch = 0; ch < \(i.c); ch++) out[j + ch] = best[ch];")
                    if argmax { c.line("for (int ch = 0; ch < \(i.c); ch++) argmax[j + ch] = at[ch];") }
                } else {
                    c.line("const float inv = 1.0f / (float)count;  // padded cells are not counted")
                    c.line("for (int ch = 0; ch < \(i.c); ch++) out[j + ch] = sum[ch] * inv;")
                }
            }
        }
        return c.text
    }

    /// Max pooling on whole vectors of channels: the running maximum and its offset in `vf16`/`vi16` registers,
    /// updated by compare-and-blend (first maximum wins, as in the scalar form; NaN never wins).
    func vectorMaxPool(_ c: inout CodeWriter, _ g: FusedGroup, _ w: Window, argmax: Bool) {
        let i = g.input, o = g.output, vs = 0..<(i.c / 16)
        if argmax { c.line("const vi16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};") }
        c.block("for (int n = n0; n < n1; n++) for (int oy = 0; oy < \(o.h); oy++) for (int ox = 0; ox < \(o.w); ox++)") { c in
            c.line("vf16 " + vs.map { "best\($0) = (vf16){0} - INFINITY" }.joined(separator: ", ") + ";")
            if argmax { c.line("vi16 " + vs.map { "at\($0) = {0}" }.joined(separator: ", ") + ";") }
            taps(&c, w, i) { c in
                c.line("const int base = (iy * \(i.w) + ix) * \(i.c);")
                c.line("const float* restrict xp = in + (size_t)n * \(i.count) + base;")
                for v in vs {
                    c.line("{ const vf16 x = vf16_load(\(Index.plus("xp", 16 * v))); const vi16 m = x > best\(v);"
                           + " best\(v) = vf16_select(m, x, best\(v));"
                           + (argmax ? " at\(v) = vi16_select(m, lane + \(Index.plus("base", 16 * v)), at\(v));" : "") + " }")
                }
            }
            c.line("const size_t j = \(Index.nhwc("n", "oy", "ox", "0", o));")
            for v in vs {
                c.line("vf16_store(\(Index.plus("out + j", 16 * v)), best\(v));" + (argmax ? " vi16_store(\(Index.plus("argmax + j", 16 * v)), at\(v));" : ""))
            }
        }
    }

    func poolBackward(_ g: FusedGroup, _ kind: PoolKind, _ w: Window) -> String {
        let i = g.input, o = g.output
        var c = CodeWriter()
        header(g, "backward").forEach { c.line($0) }
        let args = kind == .max ? "const float* restrict dout, const int* restrict argmax" : "const float* restrict dout"
        c.block("static void \(g.name)_backward(\(args), float* restrict din, int n0, int n1)") { c in
            zeroInputGradient(&c, i)
            if kind == .max {
                c.block("for (int n = n0; n < n1; n++) for (int j = 0; j < \(o.count); j++)") { c in
                    c.line("din[\(Index.sample("n", stride: dxStride, "argmax[(size_t)n * \(o.count) + j]"))] += dout[\(Index.sample("n", stride: dyStride, "j"))];")
                }
            } else {
                c.block("for (int n = n0; n < n1; n++) for (int oy = 0; oy < \(o.h); oy++) for (int ox = 0; ox < \(o.w); ox++)") { c in
                    c.line("int count = 0;")
                    taps(&c, w, i) { c in c.line("(void)iy; (void)ix; count++;") }
                    c.line("const float* restrict dy = dout + \(Index.sample("n", stride: dyStride, Index.hwc("oy", "ox", "0", o)));")
                    c.line("const float inv = 1.0f / (float)count;")
                    taps(&c, w, i) { c in
                        c.line("float* restrict dxp = din + \(Index.sample("n", stride: dxStride, Index.hwc("iy", "ix", "0", i)));")
                        c.line("for (int ch = 0; ch < \(i.c); ch++) dxp[ch] += dy[ch] * inv;")
                    }
                }
            }
        }
        return c.text
    }

    /// Cross-entropy on the softmax: loss = logsumexp(x) - x[label] (stable), dx = (p - onehot) / batch.
    func crossEntropy(_ g: FusedGroup, name: String) -> String {
        let k = g.output.count
        var c = CodeWriter()
        c.line("// \(name): cross-entropy of the softmax, loss = log(sum(exp(x - m))) + m - x[label]  [\(basename(g.location.file)):\(g.location.line)]")
        c.line("// probs and x (the logits) are (N,\(k)), labels (N), loss (N); dx is (N,\(k)): (probs - onehot) / batch")
        c.block("static void \(name)(const float* restrict probs, const float* restrict x, const int* restrict labels, float* restrict loss, float* restrict dx, int batch, int n0, int n1, double* loss_sum, int* correct)") { c in
            c.line("double total = 0.0; int right = 0;")
            c.block("for (int n = n0; n < n1; n++)") { c in
                c.line("const float* restrict xp = x + (size_t)n * \(k);")
                c.line("const float* restrict p = probs + (size_t)n * \(k);")
                c.line("const int label = labels[n];")
                c.line("float m = xp[0]; int best = 0;")
                c.line("for (int j = 1; j < \(k); j++) if (xp[j] > m) { m = xp[j]; best = j; }")
                c.line("float s = 0.0f;")
                c.line("for (int j = 0; j < \(k); j++) s += expf(xp[j] - m);")
                c.line("loss[n] = logf(s) + m - xp[label];")
                c.line("total += loss[n];")
                c.line("right += best == label;")
                c.block("if (dx)") { c in
                    c.line("const float inv = 1.0f / (float)batch;")
                    c.line("for (int j = 0; j < \(k); j++) dx[\(Index.sample("n", stride: dxStride, "j"))] = (p[j] - (j == label ? 1.0f : 0.0f)) * inv;")
                }
            }
            c.line("*loss_sum = total; *correct = right;")
        }
        return c.text
    }
}
