/// The forward conv of the C printer, in the form the schedule chooses (`ConvForwardForm`): a row at a time with
/// register blocks, each output's taps directly, or tap by tap.
extension CKernels {
    func convForward(_ g: FusedGroup, filters oc: Int, window w: Window, _ form: ConvForwardForm) -> String {
        let i = g.input, o = g.output
        var c = CodeWriter()
        header(g, "forward").forEach { c.line($0) }
        c.block("static void \(g.name)_forward(const float* restrict in, const float* restrict weight"
                + "\(biasParams(g, grad: false))\(residualParams(g)), float* restrict out, int n0, int n1)") { c in
            switch form {
            case let .rows(blocks, cv, looped, inRegisters):
                rowConvForward(&c, g, filters: oc, window: w, blocks: blocks, filterVectors: cv, loopedFilters: looped,
                               epilogueInRegisters: inRegisters)
            case .direct:
                // Few input channels: a tap is too little work to pay for revisiting the outputs, so each output
                // accumulates all its taps in registers directly.
                c.block("for (int n = n0; n < n1; n++) for (int oy = 0; oy < \(o.h); oy++) "
                        + "for (int ox = 0; ox < \(o.w); ox++)") { c in
                    c.line("float acc[\(oc)];")
                    c.line("for (int oc = 0; oc < \(oc); oc++) acc[oc] = 0.0f;")
                    taps(&c, w, i) { c in
                        c.line("const float* restrict xp = in + \(Index.nhwc("n", "iy", "ix", "0", i));")
                        c.line("const float* restrict wp = weight + (ky * \(w.kernel.x) + kx) * \(i.c * oc);")
                        c.loop("SCALAR_LOOP ", "c", to: i.c) { c, ch in
                            c.line("const float xv = xp[\(ch)];")
                            c.line("for (int oc = 0; oc < \(oc); oc++) "
                                   + "acc[oc] += xv * wp[\(Index.add(Index.times(ch, oc), "oc"))];")
                        }
                    }
                    c.line("float* restrict op = out + \(Index.nhwc("n", "oy", "ox", "0", o));")
                    c.block("for (int oc = 0; oc < \(oc); oc++)") { c in
                        c.line("float v = acc[oc];")
                        lang.epilogue("v", biases: epilogueBiases(g, sample: "n"), activation: g.activation,
                                      channel: "oc",
                                      element: "(oy * \(o.w) + ox) * \(oc) + oc").forEach { c.line($0) }
                        c.line("op[oc] = v;")
                    }
                }
            case let .taps(outputs):
                tapConvForward(&c, g, filters: oc, window: w, outputs: outputs)
            }
        }
        return c.text
    }

    /// The forward conv of a stride-1 (along x) layer, an output row at a time: for a block of u outputs and
    /// `cv` vectors of filters, the accumulators stay in registers through every tap and input channel, and each
    /// input value loaded feeds all kw taps of its row (u + kw - 1 inputs per block). The blocks of a row are
    /// unrolled, so which inputs fall in the padding is known when printing; only the rows (ky) are checked at run
    /// time.
    func rowConvForward(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window, blocks: [RowBlock],
                        filterVectors cv: Int, loopedFilters looped: Bool, epilogueInRegisters vectorEpilogue: Bool) {
        let i = g.input, o = g.output, k = w.kernel.x, pad = w.padding.left
        c.block("for (int n = n0; n < n1; n++)") { c in
            c.line("float* restrict op = out + (size_t)n * \(o.count);")
            let sizes = Set(blocks.map(\.count)).sorted(by: >).map(String.init).joined(separator: ", ")
            c.line("// a row at a time: blocks of \(sizes) outputs x \(16 * cv) filters in registers, "
                   + "all taps and channels")
            c.block("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++)") { c in
                c.line("float* restrict orow = op + oy * \(o.w * oc);")
                // Filter group starts: literals when few, else the C loop variable f0 (with 0 for the offsets).
                let groups = looped ? [0] : Array(stride(from: 0, to: oc, by: 16 * cv))
                let f0 = looped ? "f0" : nil
                func plus(_ e: String, _ k: Int) -> String { Index.plus(f0.map { "\(e) + \($0)" } ?? e, k) }
                func filterGroups(_ c: inout CodeWriter) {
                    for oc0 in groups {
                        for block in blocks {
                            let (ox, u) = (block.start, block.count)
                            c.block("") { c in
                                c.line("// outputs \(ox)..<\(ox + u), filters "
                                       + (looped ? "f0..<f0 + \(16 * cv)" : "\(oc0)..<\(oc0 + 16 * cv)"))
                                c.line("vf16 " + (0..<u).flatMap { p in (0..<cv).map { "a\(p)_\($0) = {0}" } }
                                    .joined(separator: ", ") + ";")
                                c.block("SCALAR_LOOP for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
                                    let iy = Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top)
                                    c.line("const int iy = \(iy);")
                                    if w.padding.top > 0 || w.padding.bottom > 0 {
                                        c.line("if (iy < 0 || iy >= \(i.h)) continue;")
                                    }
                                    c.line("const float* restrict xr = in + \(Index.nhwc("n", "iy", "0", "0", i));")
                                    c.line("const float* restrict wk = \(plus("weight + ky * \(k * i.c * oc)", oc0));")
                                    c.loop("SCALAR_LOOP ", "c", to: i.c) { c, ch in
                                        let weights = (0..<k).flatMap { kx in
                                            (0..<cv).map { v in
                                                let at = Index.plus(Index.add("wk", Index.times(ch, oc)),
                                                                    kx * i.c * oc + 16 * v)
                                                return "w\(kx)_\(v) = vf16_load(\(at))"
                                            }
                                        }
                                        c.line("const vf16 " + weights.joined(separator: ", ") + ";")
                                        for j in 0..<(u + k - 1) {
                                            let ix = ox + j - pad
                                            guard ix >= 0 && ix < i.w else { continue }  // padding
                                            let updates = (0..<k).filter { j - $0 >= 0 && j - $0 < u }.flatMap { kx in
                                                (0..<cv).map { " a\(j - kx)_\($0) += g * w\(kx)_\($0);" }
                                            }
                                            c.line("{ const float g = xr[\(Index.add(ch, "\(ix * i.c)"))];"
                                                   + updates.joined() + " }")
                                        }
                                    }
                                }
                                for p in 0..<u {
                                    for v in 0..<cv {
                                        let at = (ox + p) * oc + oc0 + 16 * v
                                        let value = vectorEpilogue
                                            ? epilogue("a\(p)_\(v)", g, channel: oc0 + 16 * v, group: f0,
                                                       element: plus("oy * \(o.w * oc)", at))
                                            : "a\(p)_\(v)"
                                        c.line("vf16_store(\(plus("orow", at)), \(value));")
                                    }
                                }
                            }
                        }
                    }
                }
                if looped {
                    c.block("SCALAR_LOOP for (int f0 = 0; f0 < \(oc); f0 += \(16 * cv))") { c in filterGroups(&c) }
                } else {
                    filterGroups(&c)
                }
            }
            if vectorEpilogue { return }
            epiloguePass(&c, g, filters: oc)
        }
    }

    /// The fused epilogue as a pass over sample n's outputs `op`, where it is not applied in registers.
    func epiloguePass(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int) {
        let o = g.output
        c.line("// epilogue")
        c.block("SCALAR_LOOP for (int p = 0; p < \(o.h * o.w); p++) for (int oc = 0; oc < \(oc); oc++)") { c in
            c.line("float v = op[p * \(oc) + oc];")
            lang.epilogue("v", biases: epilogueBiases(g, sample: "n"), activation: g.activation, channel: "oc",
                          element: "p * \(oc) + oc").forEach { c.line($0) }
            c.line("op[p * \(oc) + oc] = v;")
        }
    }

    /// The fused epilogue on a `vf16` of 16 filters at `channel` (and per-sample element offset `element`): the
    /// biases in order, then ReLU as a mask (NaN and -0 become +0, as in the scalar form). Only for no activation or
    /// ReLU; sigmoid and tanh take the scalar epilogue pass, where their loops vectorize.
    /// `group` is the C variable of a looped filter group, added to `channel`.
    func epilogue(_ v: String, _ g: FusedGroup, channel: Int, group: String? = nil, element: String) -> String {
        var e = v
        for b in epilogueBiases(g, sample: "n") {
            switch b.kind {
            case .channel:
                e = "\(e) + vf16_load(\(Index.plus(group.map { "\(b.pointer) + \($0)" } ?? b.pointer, channel)))"
            case .element: e = "\(e) + vf16_load(\(b.pointer) + \(element))"
            case .none: break
            }
        }
        guard g.activation == .relu else { return e }
        return "vf16_relu(\(e))"
    }

    /// The forward convolution tap by tap: each tap adds in[.., iy, ix, :] . weight[ky, kx] to the outputs it
    /// reaches, `u` outputs at a time in registers so that each weight vector loaded feeds `u` FMAs; then the
    /// fused epilogue runs over the sample.
    func tapConvForward(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window, outputs u: Int) {
        let i = g.input, o = g.output
        c.block("for (int n = n0; n < n1; n++)") { c in
            c.line("float* restrict op = out + (size_t)n * \(o.count);")
            c.line("for (int j = 0; j < \(o.count); j++) op[j] = 0.0f;")
            c.line("// taps: op[oy,ox,:] += sum_c in[n,iy,ix,c] * weight[ky,kx,c,:], \(u) outputs at a time")
            // (a skipped row ends the ky loop's body, which is the oy loop's whole body where ky runs once)
            c.loop("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++)", "SCALAR_LOOP ", "ky", to: w.kernel.y) { c in
                c.line("const int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
                if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
                c.line("const float* restrict xr = in + \(Index.nhwc("n", "iy", "0", "0", i));")
                c.line("float* restrict orow = op + oy * \(o.w * oc);")
                c.loop("SCALAR_LOOP ", "kx", to: w.kernel.x) { c in
                    outputRange("ox", tap: "kx", stride: w.stride.x, pad: w.padding.left, input: i.w, outputs: o.w)
                        .forEach { c.line($0) }
                    c.line("const float* restrict wk = weight + (ky * \(w.kernel.x) + kx) * \(i.c * oc);")
                    c.line("int ox = ox0;")
                    let ix = { (v: String) in Index.tap(v, "kx", stride: w.stride.x, pad: w.padding.left) }
                    if u > 1 {
                        c.block("for (; ox + \(u) <= ox1; ox += \(u))") { c in
                            c.line("float acc[\(u)][\(oc)];")
                            c.line("UNROLLED_LOOP for (int v = 0; v < \(u); v++) for (int oc = 0; oc < \(oc); oc++) "
                                   + "acc[v][oc] = orow[(ox + v) * \(oc) + oc];")
                            c.loop("SCALAR_LOOP ", "c", to: i.c) { c, ch in
                                c.line("const float* restrict wv = \(Index.add("wk", Index.times(ch, oc)));")
                                c.block("UNROLLED_LOOP for (int v = 0; v < \(u); v++)") { c in
                                    c.line("const float x = xr[\(Index.add(Index.times(ix("(ox + v)"), i.c), ch))];")
                                    c.line("for (int oc = 0; oc < \(oc); oc++) acc[v][oc] += x * wv[oc];")
                                }
                            }
                            c.line("UNROLLED_LOOP for (int v = 0; v < \(u); v++) for (int oc = 0; oc < \(oc); oc++) "
                                   + "orow[(ox + v) * \(oc) + oc] = acc[v][oc];")
                        }
                    }
                    // The single-output tail, unless every tap's range of outputs is a whole number of blocks of u.
                    let tail = u == 1 || (0..<w.kernel.x).contains { kx in
                        let first = w.padding.left > kx ? (w.padding.left - kx + w.stride.x - 1) / w.stride.x : 0
                        let last = i.w - 1 + w.padding.left - kx
                        let end = last < 0 ? 0 : min(last / w.stride.x + 1, o.w)
                        return max(end - first, 0) % u != 0
                    }
                    if tail { c.block("for (; ox < ox1; ox++)") { c in
                        c.line("const float* restrict xp = xr + (\(ix("ox"))) * \(i.c);")
                        c.line("float* restrict acc = orow + ox * \(oc);")
                        let (channels, ch) = CodeWriter.counted("SCALAR_LOOP ", "c", to: i.c)
                        c.line(channels + "for (int oc = 0; oc < \(oc); oc++) "
                               + "acc[oc] += xp[\(ch)] * wk[\(Index.add(Index.times(ch, oc), "oc"))];")
                    } }
                }
            }
            epiloguePass(&c, g, filters: oc)
        }
    }
}
