/// Register-blocked loops of the conv kernels. The weight gradient of one kernel tap is a small matrix product,
/// dweight[tap] (C x OC) += in[positions] (positions x C)^T . dz[positions] (positions x OC); accumulating it in
/// memory position by position serializes every update on the same cache line, so it is accumulated instead in
/// registers, `cb` input channels and `u` output positions at a time, and written back once per tap.
struct ConvBlocking {
    /// Input channels per block (a divisor of C) and output positions unrolled with separate accumulators.
    let cb: Int
    let u: Int

    /// Fill about `registers` vector accumulators of `lanes` floats.
    init(channels: Int, outputs: Int, lanes: Int = 16, registers: Int = 16) {
        let vectors = (outputs + lanes - 1) / lanes
        let fit = max(1, registers / vectors)
        cb = (1...max(1, min(channels, fit))).last { channels % $0 == 0 } ?? 1
        u = max(1, min(4, registers / (cb * vectors)))
    }
}

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

    func blockedWeightGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output
        let b = ConvBlocking(channels: i.c, outputs: oc)
        // Samples per register accumulation: a float accumulator sums at most about 1024 products before it is added
        // to dweight (its rounding error grows with the count), which is every sample for large outputs.
        let group = max(1, 1024 / max(1, o.h * o.w))
        c.line("// weight gradient: for each tap, dweight[ky,kx,c,oc] += sum over n, oy, ox of in[n,iy,ix,c] * dz[n,oy,ox,oc],")
        c.line("// over the outputs whose tap lands inside the input; \(b.cb) channel(s) x \(b.u) position(s) of accumulators in registers")
        c.line("// through \(group) sample(s) at a time, then added to dweight")
        c.block("for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
            outputRange("oy", tap: "ky", stride: w.stride.y, pad: w.padding.top, input: i.h, outputs: o.h).forEach { c.line($0) }
            c.block("for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                outputRange("ox", tap: "kx", stride: w.stride.x, pad: w.padding.left, input: i.w, outputs: o.w).forEach { c.line($0) }
                c.block("SCALAR_LOOP for (int c0 = 0; c0 < \(i.c); c0 += \(b.cb)) SCALAR_LOOP for (int s0 = n0; s0 < n1; s0 += \(group))") { c in
                    c.line("const int s1 = n1 - s0 < \(group) ? n1 : s0 + \(group);")
                    c.line("float acc[\(b.u)][\(b.cb)][\(oc)];")
                    c.line("for (int u = 0; u < \(b.u); u++) for (int cb = 0; cb < \(b.cb); cb++) for (int oc = 0; oc < \(oc); oc++) acc[u][cb][oc] = 0.0f;")
                    c.block("SCALAR_LOOP for (int n = s0; n < s1; n++) SCALAR_LOOP for (int oy = oy0; oy < oy1; oy++)") { c in
                        let iy = Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top)
                        c.line("const float* restrict xr = in + \(Index.nhwc("n", "(\(iy))", "0", "c0", i));")
                        c.line("const float* restrict dr = dout + \(Index.sample("n", stride: dyStride, "oy * \(o.w * oc)"));")
                        c.line("int ox = ox0;")
                        let ix = { (v: String) in Index.tap(v, "kx", stride: w.stride.x, pad: w.padding.left) }
                        if b.u > 1 {
                            c.block("for (; ox + \(b.u) <= ox1; ox += \(b.u))") { c in
                                for u in 0..<b.u {
                                    c.line("const float* restrict x\(u) = xr + (\(ix("(ox + \(u))"))) * \(i.c);")
                                    c.line("const float* restrict d\(u) = dr + (ox + \(u)) * \(oc);")
                                }
                                c.block("UNROLLED_LOOP for (int cb = 0; cb < \(b.cb); cb++)") { c in
                                    for u in 0..<b.u {
                                        c.line("for (int oc = 0; oc < \(oc); oc++) acc[\(u)][cb][oc] += x\(u)[cb] * d\(u)[oc];")
                                    }
                                }
                            }
                        }
                        c.block("for (; ox < ox1; ox++)") { c in
                            c.line("const float* restrict x0 = xr + (\(ix("ox"))) * \(i.c);")
                            c.line("const float* restrict d0 = dr + ox * \(oc);")
                            c.line("UNROLLED_LOOP for (int cb = 0; cb < \(b.cb); cb++) for (int oc = 0; oc < \(oc); oc++) acc[0][cb][oc] += x0[cb] * d0[oc];")
                        }
                    }
                    c.line("float* restrict dwp = dweight + ((ky * \(w.kernel.x) + kx) * \(i.c) + c0) * \(oc);")
                    c.line("for (int cb = 0; cb < \(b.cb); cb++) for (int oc = 0; oc < \(oc); oc++) {")
                    c.line("    float s = 0.0f;")
                    c.line("    for (int u = 0; u < \(b.u); u++) s += acc[u][cb][oc];")
                    c.line("    dwp[cb * \(oc) + oc] += s;")
                    c.line("}")
                }
            }
        }
    }
}

extension CKernels {
    /// Whether the input gradient uses transposed weights on the stack (small layers) or dot products (others).
    func transposesWeights(_ g: FusedGroup, filters oc: Int, window w: Window) -> Bool {
        w.kernel.y * w.kernel.x * g.input.c * oc <= 65536  // at most 256 KiB of stack
    }

    /// Declares and fills `wt`, the weights as [kh][kw][oc][c], so that the input gradient runs along c.
    func transposedWeights(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let taps = w.kernel.y * w.kernel.x, ch = g.input.c
        c.line("// the weights transposed to [kh][kw][oc][c] (\(taps * oc * ch * 4) bytes on the stack), for the input gradient")
        c.line("float wt[\(taps * oc * ch)];")
        c.line("for (int t = 0; t < \(taps); t++) for (int c = 0; c < \(ch); c++) for (int oc = 0; oc < \(oc); oc++)")
        c.line("    wt[(t * \(oc) + oc) * \(ch) + c] = weight[(t * \(ch) + c) * \(oc) + oc];")
    }

    /// din[n,iy,ix,:] += sum over taps and oc of wt[ky,kx,oc,:] * dz[n,oy,ox,oc], `u` outputs at a time in registers.
    func blockedInputGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output
        let vectors = (i.c + 15) / 16
        let blocks = blockSizes(width: o.w, limit: 24 / vectors)
        c.line("// input gradient: din[iy,ix,c] += sum over taps and oc of weight[ky,kx,c,oc] * dz[oy,ox,oc], \(blocks.map(String.init).joined(separator: ", then ")) outputs at a time")
        inputGradientRows(&c, g, filters: oc, window: w) { c in
            c.block("SCALAR_LOOP for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                outputRange("ox", tap: "kx", stride: w.stride.x, pad: w.padding.left, input: i.w, outputs: o.w).forEach { c.line($0) }
                c.line("const float* restrict wk = wt + (ky * \(w.kernel.x) + kx) * \(oc * i.c);")
                c.line("int ox = ox0;")
                let ix = { (v: String) in Index.tap(v, "kx", stride: w.stride.x, pad: w.padding.left) }
                for u in blocks {
                    c.block(u == 1 ? "for (; ox < ox1; ox++)" : "for (; ox + \(u) <= ox1; ox += \(u))") { c in
                        c.line("float acc[\(u)][\(i.c)];")
                        c.line("UNROLLED_LOOP for (int v = 0; v < \(u); v++) for (int c = 0; c < \(i.c); c++) acc[v][c] = 0.0f;")
                        c.block("SCALAR_LOOP for (int oc = 0; oc < \(oc); oc++)") { c in
                            c.line("const float* restrict wv = wk + oc * \(i.c);")
                            c.block("UNROLLED_LOOP for (int v = 0; v < \(u); v++)") { c in
                                c.line("const float g = dr[(ox + v) * \(oc) + oc];")
                                c.line("for (int c = 0; c < \(i.c); c++) acc[v][c] += g * wv[c];")
                            }
                        }
                        c.line("UNROLLED_LOOP for (int v = 0; v < \(u); v++) for (int c = 0; c < \(i.c); c++) xr[(\(ix("(ox + v)"))) * \(i.c) + c] += acc[v][c];")
                    }
                }
            }
        }
    }

    /// The loops both input-gradient forms share: din zeroed for sample n, then for each output row oy and kernel
    /// row ky that lands inside the input, `dr` (dz's row oy) and `xr` (din's row iy) for `body`.
    func inputGradientRows(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                           _ body: (inout CodeWriter) -> Void) {
        let i = g.input, o = g.output
        c.line("for (int j = 0; j < \(i.count); j++) din[\(Index.sample("n", stride: dxStride, "j"))] = 0.0f;")
        c.block("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++) SCALAR_LOOP for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
            c.line("const int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
            if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
            c.line("const float* restrict dr = dout + \(Index.sample("n", stride: dyStride, "oy * \(o.w * oc)"));")
            c.line("float* restrict xr = din + \(Index.sample("n", stride: dxStride, "iy * \(i.w * i.c)"));")
            body(&c)
        }
    }

    /// Whether the input gradient runs along rows (`rowInputGradient`): stride 1 along x and whole vectors of
    /// input channels.
    func rowInputGradient(_ g: FusedGroup, window w: Window) -> Bool {
        w.stride.x == 1 && g.input.c % 16 == 0
    }

    /// The input gradient of a stride-1 conv, a row of outputs at a time: each dz[oy, ox, oc] loaded feeds all
    /// kw taps of its row (kw weight vectors per oc), so a block of u outputs updates u + kw - 1 input positions
    /// held in registers (`vf16` accumulators, up to two vectors of channels at a time), stored once per block.
    func rowInputGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output, k = w.kernel.x, pad = w.padding.left
        let cv = min(2, i.c / 16)
        // The row always starts at 0 and ends at o.w, so only the block sizes its partition uses are printed.
        let sizes = blockSizes(width: o.w, limit: (28 - k * cv) / cv - (k - 1))
        let blocks = sizes.filter { size in rowPartition(width: o.w, sizes: sizes).contains { $0.count == size } }
        c.line("// input gradient, a row at a time: dz[oy,ox,:] times the \(k) taps of row ky reaches din[iy, ox-\(pad) .. ox-\(pad)+\(k - 1), :];")
        c.line("// \(blocks.map(String.init).joined(separator: ", then ")) outputs at a time, \(16 * cv) channels of their (outputs + \(k - 1)) input positions in registers")
        inputGradientRows(&c, g, filters: oc, window: w) { c in
            c.line("const float* restrict wy = wt + ky * \(k * oc * i.c);  // [kx][oc][c] of row ky")
            c.block("SCALAR_LOOP for (int c0 = 0; c0 < \(i.c); c0 += \(16 * cv))") { c in
                c.line("int ox = 0;")
                for u in blocks {
                    let span = u + k - 1
                    c.block(u == 1 ? "for (; ox < \(o.w); ox++)" : "for (; ox + \(u) <= \(o.w); ox += \(u))") { c in
                        c.line("vf16 " + (0..<span).flatMap { j in (0..<cv).map { "a\(j)_\($0) = {0}" } }.joined(separator: ", ") + ";")
                        c.block("SCALAR_LOOP for (int oc = 0; oc < \(oc); oc++)") { c in
                            c.line("const float* restrict wo = wy + oc * \(i.c) + c0;")
                            c.line("const vf16 " + (0..<k).flatMap { kx in (0..<cv).map { "w\(kx)_\($0) = vf16_load(\(Index.plus("wo", kx * oc * i.c + 16 * $0)))" } }.joined(separator: ", ") + ";")
                            for p in 0..<u {
                                c.line("{ const float g = dr[\(p == 0 ? "ox" : "(ox + \(p))") * \(oc) + oc];"
                                       + (0..<k).flatMap { kx in (0..<cv).map { " a\(p + kx)_\($0) += g * w\(kx)_\($0);" } }.joined() + " }")
                            }
                        }
                        for j in 0..<span {
                            c.line("{ const int ix = \(Index.plus("ox", j - pad)); if (ix >= 0 && ix < \(i.w)) {"
                                   + (0..<cv).map { " float* p\($0) = \(Index.plus("xr + ix * \(i.c) + c0", 16 * $0)); vf16_store(p\($0), vf16_load(p\($0)) + a\(j)_\($0));" }.joined() + " } }")
                        }
                    }
                }
            }
        }
    }

    /// Whether the forward conv runs along rows (`rowConvForward`): stride 1 along x and whole vectors of filters.
    /// Its printed blocks grow with the row width and the kernel width, so wide rows and wide kernels take the
    /// tap-by-tap loops instead; many filter groups run as a loop (`maxUnrolledBlocks`).
    func rowConvForward(_ g: FusedGroup, filters oc: Int, window w: Window) -> Bool {
        w.stride.x == 1 && oc % 16 == 0 && w.kernel.x <= 16 && g.output.w <= 1024
            && (oc <= 16 * min(2, oc / 16) * Self.maxUnrolledBlocks || oc % 32 == 0)
    }

    /// The row's blocks of output positions (start, count), fixed at compile time: each block's accumulators fit
    /// in registers beside `taps` weight vectors per vector of outputs.
    func rowBlocks(width: Int, taps k: Int, vectors cv: Int) -> [(start: Int, count: Int)] {
        rowPartition(width: width, sizes: blockSizes(width: width, limit: (28 - k * cv) / cv))
    }

    /// A row of `width` cut greedily into blocks of `sizes` (largest first, ending with 1), as (start, count).
    func rowPartition(width: Int, sizes: [Int]) -> [(start: Int, count: Int)] {
        var blocks: [(start: Int, count: Int)] = []
        var x = 0
        for size in sizes {
            while x + size <= width { blocks.append((x, size)); x += size }
        }
        return blocks
    }

    /// The forward conv of a stride-1 (along x) layer, an output row at a time: for a block of u outputs and up to
    /// 32 filters, the accumulators stay in registers through every tap and input channel, and each input value
    /// loaded feeds all kw taps of its row (u + kw - 1 inputs per block). The blocks of a row are unrolled, so
    /// which inputs fall in the padding is known when printing; only the rows (ky) are checked at run time.
    func rowConvForward(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output, k = w.kernel.x, pad = w.padding.left
        let cv = min(2, oc / 16)
        let blocks = rowBlocks(width: o.w, taps: k, vectors: cv)
        // Biases and ReLU are applied to the registers before the store; other activations in a pass after.
        let vectorEpilogue = g.activation == nil || g.activation == .relu
        c.block("for (int n = n0; n < n1; n++)") { c in
            c.line("float* restrict op = out + (size_t)n * \(o.count);")
            c.line("// a row at a time: blocks of \(Set(blocks.map(\.count)).sorted(by: >).map(String.init).joined(separator: ", ")) outputs x \(16 * cv) filters in registers, all taps and channels")
            c.block("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++)") { c in
                c.line("float* restrict orow = op + oy * \(o.w * oc);")
                // Filter group starts: literals when few, else the C loop variable f0 (with 0 for the offsets).
                let looped = oc / (16 * cv) > Self.maxUnrolledBlocks
                let groups = looped ? [0] : Array(stride(from: 0, to: oc, by: 16 * cv))
                let f0 = looped ? "f0" : nil
                func plus(_ e: String, _ k: Int) -> String { Index.plus(f0.map { "\(e) + \($0)" } ?? e, k) }
                func filterGroups(_ c: inout CodeWriter) {
                    for oc0 in groups {
                        for (ox, u) in blocks {
                            c.block("") { c in
                                c.line("// outputs \(ox)..<\(ox + u), filters " + (looped ? "f0..<f0 + \(16 * cv)" : "\(oc0)..<\(oc0 + 16 * cv)"))
                                c.line("vf16 " + (0..<u).flatMap { p in (0..<cv).map { "a\(p)_\($0) = {0}" } }.joined(separator: ", ") + ";")
                                c.block("SCALAR_LOOP for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
                                    c.line("const int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
                                    if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
                                    c.line("const float* restrict xr = in + \(Index.nhwc("n", "iy", "0", "0", i));")
                                    c.line("const float* restrict wk = \(plus("weight + ky * \(k * i.c * oc)", oc0));")
                                    c.block("SCALAR_LOOP for (int c = 0; c < \(i.c); c++)") { c in
                                        c.line("const vf16 " + (0..<k).flatMap { kx in (0..<cv).map { "w\(kx)_\($0) = vf16_load(\(Index.plus("wk + c * \(oc)", kx * i.c * oc + 16 * $0)))" } }.joined(separator: ", ") + ";")
                                        for j in 0..<(u + k - 1) {
                                            let ix = ox + j - pad
                                            guard ix >= 0 && ix < i.w else { continue }  // padding
                                            let updates = (0..<k).filter { j - $0 >= 0 && j - $0 < u }.flatMap { kx in
                                                (0..<cv).map { " a\(j - kx)_\($0) += g * w\(kx)_\($0);" }
                                            }
                                            c.line("{ const float g = xr[\(Index.plus("c", ix * i.c))];" + updates.joined() + " }")
                                        }
                                    }
                                }
                                for p in 0..<u {
                                    for v in 0..<cv {
                                        let at = (ox + p) * oc + oc0 + 16 * v
                                        c.line("vf16_store(\(plus("orow", at)), \(vectorEpilogue ? epilogue("a\(p)_\(v)", g, channel: oc0 + 16 * v, group: f0, element: plus("oy * \(o.w * oc)", at)) : "a\(p)_\(v)"));")
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
            c.line("// epilogue")
            c.block("SCALAR_LOOP for (int p = 0; p < \(o.h * o.w); p++) for (int oc = 0; oc < \(oc); oc++)") { c in
                c.line("float v = op[p * \(oc) + oc];")
                lang.epilogue("v", biases: epilogueBiases(g), activation: g.activation, channel: "oc", element: "p * \(oc) + oc")
                    .forEach { c.line($0) }
                c.line("op[p * \(oc) + oc] = v;")
            }
        }
    }

    /// The fused epilogue on a `vf16` of 16 filters at `channel` (and per-sample element offset `element`): the
    /// biases in order, then ReLU as a mask (NaN and -0 become +0, as in the scalar form). Only for no activation or
    /// ReLU; sigmoid and tanh take the scalar epilogue pass, where their loops vectorize.
    /// `group` is the C variable of a looped filter group, added to `channel`.
    func epilogue(_ v: String, _ g: FusedGroup, channel: Int, group: String? = nil, element: String) -> String {
        var e = v
        for b in epilogueBiases(g) {
            switch b.kind {
            case .channel: e = "\(e) + vf16_load(\(Index.plus(group.map { "\(b.pointer) + \($0)" } ?? b.pointer, channel)))"
            case .element: e = "\(e) + vf16_load(\(b.pointer) + \(element))"
            case .none: break
            }
        }
        guard g.activation == .relu else { return e }
        return "vf16_relu(\(e))"
    }

    /// Output positions per register block along a row of `width`, largest first: at most 8 and at most `limit`
    /// (what fits in registers), preferring a block that divides the row; smaller blocks (4, 2, 1) take the rest.
    /// One rule for every row kernel, so that they all split a row alike.
    func blockSizes(width: Int, limit: Int) -> [Int] {
        let most = max(1, min(8, width, limit))
        let first = (max(1, most / 2 + 1)...most).reversed().first { width % $0 == 0 } ?? most
        return [first] + [4, 2, 1].filter { $0 < first }
    }
}

extension CKernels {
    /// The forward convolution tap by tap: each tap adds in[.., iy, ix, :] . weight[ky, kx] to the outputs it
    /// reaches, `u` outputs at a time in registers so that each weight vector loaded feeds `u` FMAs; then the
    /// fused epilogue runs over the sample.
    func blockedConvForward(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output
        let u = max(1, min(4, 12 / ((oc + 15) / 16)))
        c.block("for (int n = n0; n < n1; n++)") { c in
            c.line("float* restrict op = out + (size_t)n * \(o.count);")
            c.line("for (int j = 0; j < \(o.count); j++) op[j] = 0.0f;")
            c.line("// taps: op[oy,ox,:] += sum_c in[n,iy,ix,c] * weight[ky,kx,c,:], \(u) outputs at a time")
            c.block("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++) SCALAR_LOOP for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
                c.line("const int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
                if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
                c.line("const float* restrict xr = in + \(Index.nhwc("n", "iy", "0", "0", i));")
                c.line("float* restrict orow = op + oy * \(o.w * oc);")
                c.block("SCALAR_LOOP for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                    outputRange("ox", tap: "kx", stride: w.stride.x, pad: w.padding.left, input: i.w, outputs: o.w).forEach { c.line($0) }
                    c.line("const float* restrict wk = weight + (ky * \(w.kernel.x) + kx) * \(i.c * oc);")
                    c.line("int ox = ox0;")
                    let ix = { (v: String) in Index.tap(v, "kx", stride: w.stride.x, pad: w.padding.left) }
                    if u > 1 {
                        c.block("for (; ox + \(u) <= ox1; ox += \(u))") { c in
                            c.line("float acc[\(u)][\(oc)];")
                            c.line("UNROLLED_LOOP for (int v = 0; v < \(u); v++) for (int oc = 0; oc < \(oc); oc++) acc[v][oc] = orow[(ox + v) * \(oc) + oc];")
                            c.block("SCALAR_LOOP for (int c = 0; c < \(i.c); c++)") { c in
                                c.line("const float* restrict wv = wk + c * \(oc);")
                                c.block("UNROLLED_LOOP for (int v = 0; v < \(u); v++)") { c in
                                    c.line("const float x = xr[(\(ix("(ox + v)"))) * \(i.c) + c];")
                                    c.line("for (int oc = 0; oc < \(oc); oc++) acc[v][oc] += x * wv[oc];")
                                }
                            }
                            c.line("UNROLLED_LOOP for (int v = 0; v < \(u); v++) for (int oc = 0; oc < \(oc); oc++) orow[(ox + v) * \(oc) + oc] = acc[v][oc];")
                        }
                    }
                    c.block("for (; ox < ox1; ox++)") { c in
                        c.line("const float* restrict xp = xr + (\(ix("ox"))) * \(i.c);")
                        c.line("float* restrict acc = orow + ox * \(oc);")
                        c.line("SCALAR_LOOP for (int c = 0; c < \(i.c); c++) for (int oc = 0; oc < \(oc); oc++) acc[oc] += xp[c] * wk[c * \(oc) + oc];")
                    }
                }
            }
            c.line("// epilogue")
            c.block("SCALAR_LOOP for (int p = 0; p < \(o.h * o.w); p++) for (int oc = 0; oc < \(oc); oc++)") { c in
                c.line("float v = op[p * \(oc) + oc];")
                lang.epilogue("v", biases: epilogueBiases(g), activation: g.activation, channel: "oc", element: "p * \(oc) + oc")
                    .forEach { c.line($0) }
                c.line("op[p * \(oc) + oc] = v;")
            }
        }
    }
}

extension CKernels {
    /// Whether a conv's backward pass is one pass over its output gradient: the first learnable layer (no input
    /// gradient to compute) with a weight small enough to accumulate whole in registers (taps x C vectors of OC).
    func singlePassBackward(_ g: FusedGroup, filters oc: Int, window w: Window) -> Bool {
        !g.needsInputGradient && w.kernel.y * w.kernel.x * g.input.c * ((oc + 15) / 16) <= 24
    }

    /// Per output position: dz = activation'(out) * dout, the bias gradients, and dz times every tap's input
    /// added to that tap's weight gradient, held in registers for the whole sample.
    func singlePassWeightGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window) {
        let i = g.input, o = g.output
        let taps = w.kernel.y * w.kernel.x * i.c
        c.line("// one pass per sample: the activation gradient, the bias gradients, and the whole weight gradient")
        c.line("// (\(taps) taps x \(oc) outputs) in registers; dz is not stored, since nothing after this kernel reads it")
        c.line("float acc[\(taps)][\(oc)];")
        c.line("UNROLLED_LOOP for (int t = 0; t < \(taps); t++) for (int oc = 0; oc < \(oc); oc++) acc[t][oc] = 0.0f;")
        c.block("SCALAR_LOOP for (int oy = 0; oy < \(o.h); oy++) SCALAR_LOOP for (int ox = 0; ox < \(o.w); ox++)") { c in
            c.line("const int p = oy * \(o.w) + ox;")
            c.line("const float* restrict d = dout + \(Index.sample("n", stride: dyStride, "p * \(oc)"));")
            if g.activation != nil { c.line("const float* restrict y = out + ((size_t)n * \(o.h * o.w) + p) * \(oc);") }
            c.line("float dz[\(oc)];")
            c.block("for (int oc = 0; oc < \(oc); oc++)") { c in
                // d[oc] is loaded unconditionally, so that the ReLU mask is a select, not a branch per element
                c.line("const float dv = d[oc];")
                c.line("dz[oc] = \(lang.activationGradient("dv", output: "y[oc]", g.activation));")
                for (k, b) in g.biases.enumerated() {
                    c.line("dbias\(k)[\(b.kind == .channel ? "oc" : "p * \(oc) + oc")] += dz[oc];  // \(b.parameter.name)")
                }
            }
            c.block("UNROLLED_LOOP for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
                c.line("const int iy = \(Index.tap("oy", "ky", stride: w.stride.y, pad: w.padding.top));")
                if w.padding.top > 0 || w.padding.bottom > 0 { c.line("if (iy < 0 || iy >= \(i.h)) continue;") }
                c.block("UNROLLED_LOOP for (int kx = 0; kx < \(w.kernel.x); kx++)") { c in
                    c.line("const int ix = \(Index.tap("ox", "kx", stride: w.stride.x, pad: w.padding.left));")
                    if w.padding.left > 0 || w.padding.right > 0 { c.line("if (ix < 0 || ix >= \(i.w)) continue;") }
                    c.line("const float* restrict xp = in + \(Index.nhwc("n", "iy", "ix", "0", i));")
                    c.line("UNROLLED_LOOP for (int c = 0; c < \(i.c); c++) for (int oc = 0; oc < \(oc); oc++) acc[(ky * \(w.kernel.x) + kx) * \(i.c) + c][oc] += xp[c] * dz[oc];")
                }
            }
        }
        c.line("UNROLLED_LOOP for (int t = 0; t < \(taps); t++) for (int oc = 0; oc < \(oc); oc++) dweight[t * \(oc) + oc] += acc[t][oc];")
    }
}
