/// The input-gradient loops of the C conv kernels, in the forms the schedule chooses (`ConvInputGradientForm`):
/// a row at a time or tap by tap on weights transposed on the stack, or dot products on the weights as they are.
extension CKernels {
    /// Declares and fills `wt`, the weights as [kh][kw][oc][c], so that the input gradient runs along c.
    func transposedWeights(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let taps = w.kernel.y * w.kernel.x, ch = g.input.c
        c.line("// the weights transposed to [kh][kw][oc][c] (\(taps * oc * ch * 4) bytes on the stack), "
               + "for the input gradient")
        c.line("float wt[\(taps * oc * ch)];")
        let (tapLoop, t) = CodeWriter.counted("", "t", to: taps)
        c.line(tapLoop + "for (int c = 0; c < \(ch); c++) for (int oc = 0; oc < \(oc); oc++)")
        c.line("    wt[\(Index.times(Index.add(Index.times(t, oc), "oc"), ch)) + c] = "
               + "weight[\(Index.times(Index.add(Index.times(t, ch), "c"), oc)) + oc];")
    }

    /// The input gradient of sample n in the schedule's form (the weights already transposed where it says so).
    func inputGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                       _ form: ConvInputGradientForm) {
        let i = g.input, o = g.output
        switch form {
        case .none:
            break
        case let .rows(blocks, cv):
            rowInputGradient(&c, g, filters: oc, window: w, blocks: blocks, channelVectors: cv)
        case let .blocked(blocks):
            blockedInputGradient(&c, g, filters: oc, window: w, blocks: blocks)
        case .dotProducts:
            c.line("// input gradient: din[iy,ix,c] += sum_oc weight[ky,kx,c,oc] * dz[oy,ox,oc]")
            c.line("for (int j = 0; j < \(i.count); j++) din[\(Index.sample("n", stride: dxStride, "j"))] = 0.0f;")
            c.block("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++) "
                    + "SCALAR_LOOP for (int ox = 0; ox < \(o.w); ox++)") { c in
                c.line("const float* restrict dz = dout + "
                       + "\(Index.sample("n", stride: dyStride, Index.hwc("oy", "ox", "0", o)));")
                taps(&c, w, i) { c in
                    c.line("float* restrict dxp = din + "
                           + "\(Index.sample("n", stride: dxStride, Index.hwc("iy", "ix", "0", i)));")
                    c.line("const float* restrict wp = weight + (ky * \(w.kernel.x) + kx) * \(i.c * oc);")
                    c.loop("SCALAR_LOOP ", "c", to: i.c) { c, ch in
                        c.line("float s = 0.0f;")
                        c.line("for (int oc = 0; oc < \(oc); oc++) "
                               + "s += wp[\(Index.add(Index.times(ch, oc), "oc"))] * dz[oc];")
                        c.line("dxp[\(ch)] += s;")
                    }
                }
            }
        }
    }

    /// din[n,iy,ix,:] += sum over taps and oc of wt[ky,kx,oc,:] * dz[n,oy,ox,oc], blocks of outputs at a time in
    /// registers.
    func blockedInputGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                              blocks: [Int]) {
        let i = g.input, o = g.output
        c.line("// input gradient: din[iy,ix,c] += sum over taps and oc of weight[ky,kx,c,oc] * dz[oy,ox,oc], "
               + "\(blocks.map(String.init).joined(separator: ", then ")) outputs at a time")
        inputGradientRows(&c, g, filters: oc, window: w) { c in
            c.loop("SCALAR_LOOP ", "kx", to: w.kernel.x) { c in
                outputRange("ox", tap: "kx", stride: w.stride.x, pad: w.padding.left, input: i.w, outputs: o.w)
                    .forEach { c.line($0) }
                c.line("const float* restrict wk = wt + (ky * \(w.kernel.x) + kx) * \(oc * i.c);")
                c.line("int ox = ox0;")
                let ix = { (v: String) in Index.tap(v, "kx", stride: w.stride.x, pad: w.padding.left) }
                for u in blocks {
                    c.block(u == 1 ? "for (; ox < ox1; ox++)" : "for (; ox + \(u) <= ox1; ox += \(u))") { c in
                        // acc[v][c] of output ox + v (no output index for one output)
                        let (outputs, v) = CodeWriter.counted("UNROLLED_LOOP ", "v", to: u)
                        let acc = Index.element("acc", u == 1 ? nil : v, "c"), at = v == "0" ? "ox" : "(ox + v)"
                        c.line(Index.element("float acc", u == 1 ? nil : "\(u)", "\(i.c)") + ";")
                        c.line(outputs + "for (int c = 0; c < \(i.c); c++) \(acc) = 0.0f;")
                        c.block("SCALAR_LOOP for (int oc = 0; oc < \(oc); oc++)") { c in
                            c.line("const float* restrict wv = wk + oc * \(i.c);")
                            c.loop("UNROLLED_LOOP ", "v", to: u) { c, _ in
                                c.line("const float g = dr[\(at) * \(oc) + oc];")
                                c.line("for (int c = 0; c < \(i.c); c++) \(acc) += g * wv[c];")
                            }
                        }
                        c.line(outputs + "for (int c = 0; c < \(i.c); c++) "
                               + "xr[(\(ix(at))) * \(i.c) + c] += \(acc);")
                    }
                }
            }
        }
    }

    /// The loops both transposed input-gradient forms share: din zeroed for sample n, then for each output row oy
    /// and kernel row ky that lands inside the input, `dr` (dz's row oy) and `xr` (din's row iy) for `body`.
    func inputGradientRows(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                           _ body: (inout CodeWriter) -> Void) {
        let i = g.input, o = g.output
        c.line("for (int j = 0; j < \(i.count); j++) din[\(Index.sample("n", stride: dxStride, "j"))] = 0.0f;")
        // (a skipped row ends the ky loop's body, which is the oy loop's whole body where ky runs once)
        c.loop("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++)", "SCALAR_LOOP ", "ky", to: w.kernel.y) { c in
            c.line("const int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
            if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
            c.line("const float* restrict dr = dout + \(Index.sample("n", stride: dyStride, "oy * \(o.w * oc)"));")
            c.line("float* restrict xr = din + \(Index.sample("n", stride: dxStride, "iy * \(i.w * i.c)"));")
            body(&c)
        }
    }

    /// The input gradient of a stride-1 conv, a row of outputs at a time: each dz[oy, ox, oc] loaded feeds all
    /// kw taps of its row (kw weight vectors per oc), so a block of u outputs updates u + kw - 1 input positions
    /// held in registers (`vf16` accumulators, `cv` vectors of channels at a time), stored once per block.
    func rowInputGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                          blocks: [Int], channelVectors cv: Int) {
        let i = g.input, o = g.output, k = w.kernel.x, pad = w.padding.left
        c.line("// input gradient, a row at a time: dz[oy,ox,:] times the \(k) taps of row ky reaches "
               + "din[iy, ox-\(pad) .. ox-\(pad)+\(k - 1), :];")
        c.line("// \(blocks.map(String.init).joined(separator: ", then ")) outputs at a time, \(16 * cv) channels "
               + "of their (outputs + \(k - 1)) input positions in registers")
        inputGradientRows(&c, g, filters: oc, window: w) { c in
            c.line("const float* restrict wy = wt + ky * \(k * oc * i.c);  // [kx][oc][c] of row ky")
            c.loop("SCALAR_LOOP ", "c0", to: i.c, step: 16 * cv) { c in
                c.line("int ox = 0;")
                for u in blocks {
                    let span = u + k - 1
                    c.block(u == 1 ? "for (; ox < \(o.w); ox++)" : "for (; ox + \(u) <= \(o.w); ox += \(u))") { c in
                        c.line("vf16 " + (0..<span).flatMap { j in (0..<cv).map { "a\(j)_\($0) = {0}" } }
                            .joined(separator: ", ") + ";")
                        c.block("SCALAR_LOOP for (int oc = 0; oc < \(oc); oc++)") { c in
                            c.line("const float* restrict wo = wy + oc * \(i.c) + c0;")
                            let weights = (0..<k).flatMap { kx in
                                (0..<cv).map { v in
                                    "w\(kx)_\(v) = vf16_load(\(Index.plus("wo", kx * oc * i.c + 16 * v)))"
                                }
                            }
                            c.line("const vf16 " + weights.joined(separator: ", ") + ";")
                            for p in 0..<u {
                                let updates = (0..<k).flatMap { kx in
                                    (0..<cv).map { " a\(p + kx)_\($0) += g * w\(kx)_\($0);" }
                                }
                                c.line("{ const float g = dr[\(p == 0 ? "ox" : "(ox + \(p))") * \(oc) + oc];"
                                       + updates.joined() + " }")
                            }
                        }
                        for j in 0..<span {
                            let stores = (0..<cv).map {
                                " float* p\($0) = \(Index.plus("xr + ix * \(i.c) + c0", 16 * $0));"
                                    + " vf16_store(p\($0), vf16_load(p\($0)) + a\(j)_\($0));"
                            }
                            c.line("{ const int ix = \(Index.plus("ox", j - pad)); if (ix >= 0 && ix < \(i.w)) {"
                                   + stores.joined() + " } }")
                        }
                    }
                }
            }
        }
    }
}
