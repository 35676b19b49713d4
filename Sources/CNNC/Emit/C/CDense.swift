/// The dense kernels of the C printer, blocked as the schedule says (`DenseForwardSchedule`, `DenseBackwardForm`).
extension CKernels {
    /// The head of a loop body over blocks of `block` samples starting at `s` and ending before `end`: `count`, the
    /// samples of this block, and `lines(k, sample)` for each k with the sample's index expression. A missing
    /// sample of a partial block is sample s again: it is read but its results are not written.
    func sampleBlock(_ c: inout CodeWriter, block: Int, end: String, _ lines: (Int, String) -> [String]) {
        c.line("const int count = \(end) - s < \(block) ? \(end) - s : \(block);")
        for k in 0..<block { lines(k, k == 0 ? "s" : "(\(k) < count ? s + \(k) : s)").forEach { c.line($0) } }
    }

    func denseForward(_ g: FusedGroup, units: Int, _ schedule: DenseForwardSchedule) -> String {
        let n = g.input.count
        var c = CodeWriter()
        header(g, "forward").forEach { c.line($0) }
        c.block("static void \(g.name)_forward(const float* restrict in, const float* restrict weight"
                + "\(biasParams(g, grad: false))\(residualParams(g)), float* restrict out, int n0, int n1)") { c in
            // Samples and outputs at a time as the schedule blocks them: each weight vector loaded feeds a FMA per
            // sample, and the weight matrix streams through the cache once per block of samples.
            let block = schedule.samples, tile = schedule.tile
            c.line("// \(block) samples x \(tile) outputs of accumulators at a time, "
                   + "so each weight load feeds \(block) samples")
            c.block("for (int s = n0; s < n1; s += \(block))") { c in
                sampleBlock(&c, block: block, end: "n1") { k, sample in
                    ["const float* restrict x\(k) = in + (size_t)\(sample) * \(n);"]
                }
                // The first `looped` tiles run as a loop over t0; the others, the last maybe wider, on their own.
                let looped = schedule.looped
                if looped > 0 {
                    c.line("// outputs 0..<\(looped * tile), \(tile) at a time")
                    c.block("SCALAR_LOOP for (int t0 = 0; t0 < \(looped * tile); t0 += \(tile))") { c in
                        tileBody(&c, "t0", tile, comment: "outputs t0..<t0 + \(tile)")
                    }
                }
                for t in schedule.tiles.dropFirst(looped) {
                    let (o0, width) = (t.start, t.width)
                    c.block("") { c in
                        tileBody(&c, o0 == 0 ? "" : "\(o0)", width, comment: "outputs \(o0)..<\(o0 + width)")
                    }
                }
                /// One tile of `width` outputs from `o0` (a C expression; "" for 0).
                func tileBody(_ c: inout CodeWriter, _ o0: String, _ width: Int, comment: String) {
                    c.line("float acc[\(block)][\(width)];  // \(comment)")
                    c.line("UNROLLED_LOOP for (int k = 0; k < \(block); k++) for (int o = 0; o < \(width); o++) "
                           + "acc[k][o] = 0.0f;")
                    c.block("SCALAR_LOOP for (int i = 0; i < \(n); i++)") { c in
                        c.line("const float* restrict wp = weight + (size_t)i * \(units)"
                               + "\(o0.isEmpty ? "" : " + \(o0)");")
                        c.line("const float " + (0..<block).map { "v\($0) = x\($0)[i]" }.joined(separator: ", ") + ";")
                        c.line("for (int o = 0; o < \(width); o++) {")
                        c.line("    const float w = wp[o];")
                        c.line("   " + (0..<block).map { " acc[\($0)][o] += v\($0) * w;" }.joined())
                        c.line("}")
                    }
                    c.block("for (int k = 0; k < count; k++) for (int o = 0; o < \(width); o++)") { c in
                        c.line("float v = acc[k][o];")
                        let o = o0.isEmpty ? "o" : "\(o0) + o"
                        lang.epilogue("v", biases: epilogueBiases(g, sample: "(s + k)"), activation: g.activation,
                                      channel: o, element: o)
                            .forEach { c.line($0) }
                        c.line("out[(size_t)(s + k) * \(units) + \(o)] = v;")
                        }
                }
            }
        }
        return c.text
    }

    func denseBackward(_ g: FusedGroup, units: Int, _ form: DenseBackwardForm) -> String {
        if case let .batchWide(wide) = form { return batchWideDenseBackward(g, units: units, wide) }
        let n = g.input.count
        var c = CodeWriter()
        header(g, "backward").forEach { c.line($0) }
        c.line("// dout is (N,\(units)) and becomes dz in place; dweight, dbias accumulate")
        let din = g.needsInputGradient ? ", float* restrict din" : ""
        c.block("static void \(g.name)_backward(float* restrict dout, const float* restrict in, "
                + "const float* restrict out, const float* restrict weight, "
                + "float* restrict dweight\(biasParams(g, grad: true))\(din), int n0, int n1)") { c in
            prologue(&c, g, spatial: 1, channels: units)
            if !g.needsInputGradient { c.line("(void)weight;  // the first learnable layer needs no input gradient") }
            // The schedule's samples per block (`CPUBudget.denseBackwardSamples`).
            guard case let .perSample(block) = form else { return }
            let ks = 0..<block
            c.line("// \(block) samples at a time: each row of the weight and of its gradient is read once per block")
            c.block("for (int s = n0; s < n1; s += \(block))") { c in
                // A missing sample's input is multiplied by m = 0, so it adds nothing to the weight gradient.
                sampleBlock(&c, block: block, end: "n1") { k, sample in [
                    "const float* restrict dz\(k) = dout + \(Index.sample(sample, stride: dyStride, "0"));",
                    "const float* restrict x\(k) = in + (size_t)\(sample) * \(n);",
                    "const float m\(k) = \(k) < count ? 1.0f : 0.0f;",
                ] }
                c.block("SCALAR_LOOP for (int i = 0; i < \(n); i++)") { c in
                    c.line("float* restrict dwp = dweight + (size_t)i * \(units);")
                    c.line("const float " + ks.map { "a\($0) = x\($0)[i] * m\($0)" }.joined(separator: ", ") + ";")
                    c.line("for (int o = 0; o < \(units); o++)  // weight gradient")
                    c.line("    dwp[o] += " + ks.map { "a\($0) * dz\($0)[o]" }.joined(separator: " + ") + ";")
                    if g.needsInputGradient {
                        c.line("const float* restrict wp = weight + (size_t)i * \(units);")
                        c.line("float " + ks.map { "g\($0) = 0.0f" }.joined(separator: ", ") + ";")
                        c.line("for (int o = 0; o < \(units); o++) {  // input gradient")
                        c.line("    const float w = wp[o];")
                        c.line("   " + ks.map { " g\($0) += w * dz\($0)[o];" }.joined())
                        c.line("}")
                        c.line("din[\(Index.sample("s", stride: dxStride, "i"))] = g0;")
                        for k in ks.dropFirst() {
                            c.line("if (\(k) < count) "
                                   + "din[\(Index.sample("(s + \(k))", stride: dxStride, "i"))] = g\(k);")
                        }
                    }
                }
            }
        }
        return c.text
    }

    /// The backward pass of a dense layer with a batch-wide weight gradient: `NAME_backward` (dz and the bias
    /// gradients, per sample), then in the next stage, on each thread's rows of the weight and every sample,
    /// `NAME_wgrad` (the weight gradient, and those rows of the weight transposed into `wt`) and `NAME_din` (the
    /// input gradient dz . weight^T for those inputs, read from `wt` along the inputs: a register-blocked product
    /// rather than dot products, on rows this core has just read).
    func batchWideDenseBackward(_ g: FusedGroup, units: Int, _ wide: BatchWideDenseSchedule) -> String {
        var c = CodeWriter()
        header(g, "backward").forEach { c.line($0) }
        c.line("// dout is (N,\(units)) and becomes dz in place; the weight gradient is \(g.name)_wgrad's"
               + "\(g.needsInputGradient ? ", the input gradient \(g.name)_din's" : "")")
        c.block("static void \(g.name)_backward(float* restrict dout, const float* restrict out"
                + "\(biasParams(g, grad: true)), int n0, int n1)") { c in
            // Without biases or an activation (a dense layer before batchnorm) dz is dout: nothing to do here.
            if g.activation == nil && g.biases.isEmpty { c.line("(void)dout; (void)n0; (void)n1;") }
            prologue(&c, g, spatial: 1, channels: units)
        }
        c.line()
        c.line(denseWeightGradient(g, units: units, wide))
        if g.needsInputGradient { c.line(); c.line(denseInputGradient(g, units: units, wide)) }
        return c.text
    }

    /// `NAME_din`: din[s, i] = sum over o of dz[s, o] * wt[o, i] for the inputs [i0, i1) of every sample of the
    /// batch (the rows of the weight this thread transposed), a block of samples x the widest block of inputs in
    /// registers, then narrower blocks for the rest (`BatchWideDenseSchedule`).
    func denseInputGradient(_ g: FusedGroup, units: Int, _ wide: BatchWideDenseSchedule) -> String {
        let n = g.input.count, block = wide.inputGradientSamples, ks = 0..<block
        var c = CodeWriter()
        c.line("// \(g.name)_din: the input gradient of \(g.name) for inputs [i0, i1) of every sample, "
               + "\(block) samples at a time")
        c.line("// dout is dz (N,\(units)), wt is (\(units),\(n)) (the weight transposed by \(g.name)_wgrad), "
               + "din is \(nhwc(g.input))")
        c.block("static void \(g.name)_din(const float* restrict dout, const float* restrict wt, float* restrict din, "
                + "int i0, int i1, int batch)") { c in
            c.block("for (int s = 0; s < batch; s += \(block))") { c in
                sampleBlock(&c, block: block, end: "batch") { k, sample in
                    ["const float* restrict dz\(k) = dout + \(Index.sample(sample, stride: dyStride, "0"));"]
                }
                c.line("int i = i0;")
                for width in wide.inputGradientWidths {
                    c.block(width == 1 ? "for (; i < i1; i++)" : "for (; i + \(width) <= i1; i += \(width))") { c in
                        c.line("float acc[\(block)][\(width)];")
                        c.line("UNROLLED_LOOP for (int k = 0; k < \(block); k++) for (int j = 0; j < \(width); j++) "
                               + "acc[k][j] = 0.0f;")
                        c.block("SCALAR_LOOP for (int o = 0; o < \(units); o++)") { c in
                            c.line("const float* restrict wr = wt + (size_t)o * \(n) + i;")
                            c.line("const float " + ks.map { "a\($0) = dz\($0)[o]" }.joined(separator: ", ") + ";")
                            c.line("for (int j = 0; j < \(width); j++) {"
                                   + ks.map { " acc[\($0)][j] += a\($0) * wr[j];" }.joined() + " }")
                        }
                        c.line("for (int k = 0; k < count; k++) for (int j = 0; j < \(width); j++) "
                               + "din[\(Index.sample("(s + k)", stride: dxStride, "i + j"))] = acc[k][j];")
                    }
                }
            }
        }
        return c.text
    }

    /// `NAME_wgrad`: dweight = x^T dz summed over every sample of the batch, for the weight rows [r0, r1): a block
    /// of rows x a chunk of outputs stays in registers for the whole batch and is stored once.
    func denseWeightGradient(_ g: FusedGroup, units: Int, _ wide: BatchWideDenseSchedule) -> String {
        let n = g.input.count
        let (rows, chunks, tr) = (wide.rows, wide.chunks, wide.transposeRows)
        var c = CodeWriter()
        c.line("// \(g.name)_wgrad: the weight gradient of \(g.name) over the whole batch, weight rows [r0, r1)")
        c.line("// in is \(nhwc(g.input)), dout is dz (N,\(units))"
               + "\(dyStride != units ? " with samples \(dyStride) floats apart" : ""), "
               + "dweight is (\(n),\(units)) and is overwritten")
        let transposes = g.needsInputGradient
        if transposes { c.line("// wt is (\(units),\(n)): rows [r0, r1) of the weight, transposed, for \(g.name)_din") }
        let extra = transposes ? ", const float* restrict weight, float* restrict wt" : ""
        c.block("static void \(g.name)_wgrad(const float* restrict dout, const float* restrict in\(extra), "
                + "float* restrict dweight, int r0, int r1, int batch)") { c in
            if transposes {
                c.block("for (int i0 = r0; i0 < r1; i0 += \(tr))") { c in
                    c.line("const int i1 = i0 + \(tr) < r1 ? i0 + \(tr) : r1;")
                    c.line("for (int o = 0; o < \(units); o++) for (int i = i0; i < i1; i++) "
                           + "wt[(size_t)o * \(n) + i] = weight[(size_t)i * \(units) + o];")
                }
            }
            c.line("int i = r0;")
            // Blocks of `rows` rows, then one row at a time for what is left.
            for r in rows > 1 ? [rows, 1] : [1] {
                let ks = 0..<r
                c.block(r > 1 ? "for (; i + \(r) <= r1; i += \(r))" : "for (; i < r1; i++)") { c in
                    c.line(r > 1 ? "// blocks of \(r) rows" : "// rows left over")
                    // Many chunks run as a loop over o0; the last (maybe narrower) one stays on its own.
                    let looped = wide.looped
                    if looped > 0 {
                        let width = chunks[0].width
                        c.loop("SCALAR_LOOP ", "c0", to: looped * width, step: width) { c in
                            chunkBody(&c, "c0", width, comment: "outputs c0..<c0 + \(width)")
                        }
                    }
                    for chunk in chunks.dropFirst(looped) {
                        let o0 = chunk.start
                        c.block("") { c in
                            chunkBody(&c, o0 == 0 ? "" : "\(o0)", chunk.width,
                                      comment: "outputs \(o0)..<\(o0 + chunk.width)")
                        }
                    }
                    /// One chunk of `width` outputs from `o0` (a C expression; "" for 0).
                    func chunkBody(_ c: inout CodeWriter, _ o0: String, _ width: Int, comment: String) {
                        let at = o0.isEmpty ? "o" : "\(o0) + o"
                        c.line("float acc[\(r)][\(width)];  // \(comment)")
                        c.line("UNROLLED_LOOP for (int k = 0; k < \(r); k++) for (int o = 0; o < \(width); o++) "
                               + "acc[k][o] = 0.0f;")
                        c.block("SCALAR_LOOP for (int n = 0; n < batch; n++)") { c in
                            c.line("const float* restrict dz = dout + "
                                   + "\(Index.sample("n", stride: dyStride, o0.isEmpty ? "0" : o0));")
                            c.line("const float* restrict x = in + (size_t)n * \(n) + i;")
                            c.line("const float " + ks.map { "a\($0) = x[\($0)]" }.joined(separator: ", ") + ";")
                            c.line("for (int o = 0; o < \(width); o++) {"
                                   + ks.map { " acc[\($0)][o] += a\($0) * dz[o];" }.joined() + " }")
                        }
                        c.line("UNROLLED_LOOP for (int k = 0; k < \(r); k++) for (int o = 0; o < \(width); o++) "
                               + "dweight[(size_t)(i + k) * \(units) + \(at)] = acc[k][o];")
                    }
                }
            }
        }
        return c.text
    }
}
