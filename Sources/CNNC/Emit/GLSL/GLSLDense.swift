/// Dense shaders of the GLSL printer, register-blocked as the schedule says (`GPUDenseSchedule`: a few samples and
/// a vector of outputs or inputs per invocation), so that each weight loaded serves every sample of the block and
/// each input every output.
extension GLSLProgram {
    func denseForward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, units: Int) -> GLSLShader {
        let n = g.input.count, W = offset(g.weight!)
        let s = Schedule.gpuDense(g, units: units)
        let ob = s.outputs, groups = units / ob, nb = s.samples
        let T = GLSLText.vec(ob)
        let L = Schedule.reductionChunks(blocks: (plan.network.train.batch + nb - 1) / nb * groups, terms: n)
        return shader(k.name, kernel: ki, group: g, what: [
            "in is (N,\(n)), weight is (\(n),\(units)) at params[\(W)], out is (N,\(units))",
            Self.splitKWhat("\(nb) samples from n0 and \(ob) outputs from o (outputs fastest)", lanes: L, terms: n,
                            over: "inputs"),
        ], bindings: [bind(k.operands.input!, as: "x", .read), params(g)] + residualBindings(k)
            + [bind(k.operands.output!, as: "y", .write)],
        threads: .sampleBlocks(block: nb, groups * L),
        note: Self.splitKNote("\(nb) samples x \(ob) outputs", lanes: L, terms: n, over: "inputs"),
        sharedFloats: L > 1 ? nb * ob * Self.localSize : 0, lanes: L) { c in
            Self.splitKStart(&c, lanes: L, first: "o", groups: groups, width: ob, samples: nb)
            c.line("int xi[\(nb)];  // each sample's input row (the last sample again past the batch)")
            c.line("for (int j = 0; j < \(nb); j++) { acc[j] = \(T)(0.0); xi[j] = min(n0 + j, pc.n - 1) * \(n); }")
            c.block(Self.splitKLoop("i", lanes: L, terms: n)) { c in
                c.line("\(T) wv = \(GLSLText.load("params", "\(W) + i * \(units) + o", ob));")
                c.line("for (int j = 0; j < \(nb); j++) acc[j] += x[xi[j] + i] * wv;")
            }
            Self.splitKTotals(&c, lanes: L, values: nb * ob, width: ob)
            c.block("for (int j = 0; j < \(nb) && n0 + j < pc.n; j++)") { c in
                c.block("for (int k = 0; k < \(ob); k++)") { c in
                    c.line("float v = \(ob == 1 ? "acc[j]" : "acc[j][k]");")
                    epilogue(g, channel: "o + k", element: "o + k", at: "(n0 + j) * \(units) + o + k")
                        .forEach { c.line($0) }
                    c.line("y[(n0 + j) * \(units) + o + k] = v;")
                }
            }
        }
    }

    mutating func denseBackward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, units: Int) {
        let prologue = Lowering.backwardPrologue(plan, ki, g, .invocationGrid, inputGradient: false,
                                                 activationInConsumers: Schedule.gpuFusesActivationGradient(g))
        append(prologue.filter { $0.reduction == nil })
        if g.needsInputGradient { shaders.append(denseInputGradient(k, ki, g, units: units)) }
        denseWeightGradient(k, ki, g, units: units)
        append(prologue.filter { $0.reduction != nil })
    }

    /// din[n,i] = sum over o of weight[i,o] * dz[n,o].
    func denseInputGradient(_ k: Kernel, _ ki: Int, _ g: FusedGroup, units: Int) -> GLSLShader {
        let n = g.input.count, W = offset(g.weight!)
        let s = Schedule.gpuDense(g, units: units)
        let ib = s.inputs, groups = n / ib, nb = s.samples
        let T = GLSLText.vec(ib)
        let L = Schedule.reductionChunks(blocks: (plan.network.train.batch + nb - 1) / nb * groups, terms: units)
        return shader(k.name + "_dx", kernel: ki, group: g, what: [
            "input gradient: din[n,i] = sum over o of weight[i,o] * dz[n,o]; dz is (N,\(units)), din (N,\(n))",
            Self.splitKWhat("\(nb) samples from n0 and \(ib) inputs from i (inputs fastest)", lanes: L, terms: units,
                            over: "outputs"),
        ], bindings: dzBindings(k, g) + [params(g),
                    bind(k.operands.inputGradient!, as: "dx", .write)],
        threads: .sampleBlocks(block: nb, groups * L),
        note: Self.splitKNote("\(nb) samples x \(ib) inputs", lanes: L, terms: units, over: "outputs"),
        sharedFloats: L > 1 ? nb * ib * Self.localSize : 0, lanes: L) { c in
            Self.splitKStart(&c, lanes: L, first: "i", groups: groups, width: ib, samples: nb)
            c.line("int di[\(nb)];  // each sample's output-gradient row (the last sample again past the batch)")
            c.line("for (int j = 0; j < \(nb); j++) { acc[j] = \(T)(0.0); di[j] = min(n0 + j, pc.n - 1) * \(units); }")
            c.block(Self.splitKLoop("o", lanes: L, terms: units)) { c in
                c.line("\(T) wv = \(GLSLText.load("params", "\(W) + i * \(units) + o", ib, stride: "\(units)"));")
                c.line("for (int j = 0; j < \(nb); j++) acc[j] += \(dz(g, "di[j] + o")) * wv;")
            }
            Self.splitKTotals(&c, lanes: L, values: nb * ib, width: ib)
            c.block("for (int j = 0; j < \(nb) && n0 + j < pc.n; j++)") { c in
                c.line("for (int k = 0; k < \(ib); k++) dx[(n0 + j) * \(n) + i + k] = "
                       + "\(ib == 1 ? "acc[j]" : "acc[j][k]");")
            }
        }
    }

    /// dweight[i,o] = sum over n of in[n,i] * dz[n,o], a block of inputs x outputs per invocation.
    mutating func denseWeightGradient(_ k: Kernel, _ ki: Int, _ g: FusedGroup, units: Int) {
        let n = g.input.count, p = g.weight!
        let block = Schedule.gpuDense(g, units: units).weightGradient
        let ib = block.inputs, ob = block.outputs
        let ig = n / ib, og = units / ob
        let (X, D) = (GLSLText.vec(ib), GLSLText.vec(ob))
        let dv = dzVector(g, "n * \(units) + o", ob)
        reduction(k.name + "_dw", kernel: ki, group: g, parameter: p,
                  what: "\(p.name) gradient: dweight[i,o] = sum over n of in[n,i] * dz[n,o]; "
                      + "in is (N,\(n)), dz (N,\(units))",
                  bindings: [bind(k.operands.input!, as: "x", .read)] + dzBindings(k, g),
                  rowsPerSample: 1,
                  blocks: ig * og, perBlock: ib * ob, element: [
                      "int o = (b % \(og)) * \(ob);  // the block: \(ib) inputs from i x \(ob) outputs from o",
                      "int i = (b / \(og)) * \(ib);",
                      "\(D) acc[\(ib)];",
                      "for (int k = 0; k < \(ib); k++) acc[k] = \(D)(0.0);",
                  ]) { c in
            c.line("\(X) xv = \(GLSLText.load("x", "n * \(n) + i", ib));")
            c.line("\(D) dv = \(dv);")
            c.line("for (int k = 0; k < \(ib); k++) acc[k] += \(ib == 1 ? "xv" : "xv[k]") * dv;")
        } index: { e in "(i + \(e) / \(ob)) * \(units) + o + \(e) % \(ob)"
        } value: { e in ob == 1 ? "acc[\(e)]" : "acc[\(e) / \(ob)][\(e) % \(ob)]" }
    }
}

/// The split-K form the dense forward and input gradient share: `lanes` invocations per block (`LANES`, which the
/// trainer may specialize), each summing its share of the `terms` terms (`over` names them), then the lanes' sums
/// added in a fixed tree in shared memory. With one lane, a block per invocation.
extension GLSLProgram {
    /// The sentence of the shader's header that says what a `block` is and how its sums are split.
    static func splitKWhat(_ block: String, lanes L: Int, terms: Int, over: String) -> String {
        guard L > 1 else { return "A block of \(block) per invocation." }
        return "A block of \(block) per \(L) invocations: lane l sums \(over) [l * \(terms) / \(L), "
            + "(l + 1) * \(terms) / \(L)), then the lanes' sums are added in a fixed tree (split-K, deterministic)."
    }

    /// The dispatch's note: a block's values, and why it has as many lanes as it has.
    static func splitKNote(_ block: String, lanes L: Int, terms: Int, over: String) -> String {
        "\(block) per block x \(L) lanes splitting the \(terms) \(over)"
            + (L == localSize ? " (a workgroup's most)" : L * 2 > terms ? " (as many as \(over))" : "")
    }

    /// The invocation's lane, its block's first value `first` (of `groups` vectors of `width` along the outputs
    /// or inputs) and first sample n0 (of blocks of `samples`), and its accumulators acc[j], one per sample.
    static func splitKStart(_ c: inout CodeWriter, lanes L: Int, first: String, groups: Int, width: Int,
                            samples nb: Int) {
        let LN = L > 1 ? "LANES" : "1"
        c.line("int lane = t % \(LN);")
        c.line("int \(first) = ((t / \(LN)) % \(groups)) * \(width);")
        c.line("int n0 = (t / (\(LN) * \(groups))) * \(nb);")
        c.line("\(GLSLText.vec(width)) acc[\(nb)];")
    }

    /// The head of the loop of `v` over the lane's share of the terms (all of them with one lane).
    static func splitKLoop(_ v: String, lanes L: Int, terms: Int) -> String {
        L == 1 ? "for (int \(v) = 0; \(v) < \(terms); \(v)++)"
            : "for (int \(v) = lane * \(terms) / LANES; \(v) < (lane + 1) * \(terms) / LANES; \(v)++)"
    }

    /// With lanes: the lanes' `values` sums (acc, vectors of `width`) added in the fixed tree, after which lane 0
    /// alone goes on, with the block's totals in acc.
    static func splitKTotals(_ c: inout CodeWriter, lanes L: Int, values: Int, width: Int) {
        guard L > 1 else { return }
        let acc = width == 1 ? "acc[e]" : "acc[e / \(width)][e % \(width)]"
        c.line("int li = int(gl_LocalInvocationID.x);")
        c.line("for (int e = 0; e < \(values); e++) part[e * \(localSize) + li] = \(acc);")
        laneTree(&c, values: values)
        c.line("if (!inRange || lane != 0) return;")
        c.line("for (int e = 0; e < \(values); e++) \(acc) = part[e * \(localSize) + li];")
    }
}
