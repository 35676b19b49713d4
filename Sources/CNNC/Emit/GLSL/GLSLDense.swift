/// Dense shaders of the GLSL printer, register-blocked as the schedule says (`GPUDenseSchedule`: a few samples and
/// a vector of outputs or inputs per invocation), so that each weight loaded serves every sample of the block and
/// each input every output.
extension GLSLProgram {
    func denseForward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, units: Int) -> GLSLShader {
        let n = g.input.count, W = offset(g.weight!)
        let s = Schedule.gpuDense(g, units: units)
        let ob = s.outputs, groups = units / ob, nb = s.samples
        let T = GLSLText.vec(ob)
        let blocks = (plan.network.train.batch + nb - 1) / nb * groups
        let L = Schedule.reductionChunks(blocks: blocks, terms: n)
        return shader(k.name, kernel: ki, group: g, what: [
            "in is (N,\(n)), weight is (\(n),\(units)) at params[\(W)], out is (N,\(units))",
            "A block of \(nb) samples from n0 and \(ob) outputs from o (outputs fastest) per "
                + (L == 1 ? "invocation." : "\(L) invocations: lane l sums inputs [l * \(n) / \(L), (l + 1) * \(n) / \(L)), "
                    + "then the lanes' sums are added in a fixed tree (split-K, deterministic)."),
        ], bindings: [bind(k.operands.input!, as: "x", .read), params(g)] + residualBindings(k)
            + [bind(k.operands.output!, as: "y", .write)],
        threads: .sampleBlocks(block: nb, groups * L),
        note: "\(nb) samples x \(ob) outputs per block x \(L) lanes splitting the \(n) inputs"
            + (L == Self.localSize ? " (a workgroup's most)" : L * 2 > n ? " (as many as inputs)" : ""),
        sharedFloats: L > 1 ? nb * ob * Self.localSize : 0, lanes: L) { c in
            let LN = L > 1 ? "LANES" : "1"
            c.line("int lane = t % \(LN);")
            c.line("int o = ((t / \(LN)) % \(groups)) * \(ob);")
            c.line("int n0 = (t / (\(LN) * \(groups))) * \(nb);")
            c.line("\(T) acc[\(nb)];")
            c.line("int xi[\(nb)];  // each sample's input row (the last sample again past the batch)")
            c.line("for (int j = 0; j < \(nb); j++) { acc[j] = \(T)(0.0); xi[j] = min(n0 + j, pc.n - 1) * \(n); }")
            c.block("for (int i = \(L == 1 ? "0" : "lane * \(n) / LANES"); i < \(L == 1 ? "\(n)" : "(lane + 1) * \(n) / LANES"); i++)") { c in
                c.line("\(T) wv = \(GLSLText.load("params", "\(W) + i * \(units) + o", ob));")
                c.line("for (int j = 0; j < \(nb); j++) acc[j] += x[xi[j] + i] * wv;")
            }
            if L > 1 {
                c.line("int li = int(gl_LocalInvocationID.x);")
                c.line("for (int e = 0; e < \(nb * ob); e++) part[e * \(Self.localSize) + li] = "
                       + (ob == 1 ? "acc[e];" : "acc[e / \(ob)][e % \(ob)];"))
                Self.laneTree(&c, values: nb * ob)
                c.line("if (!inRange || lane != 0) return;")
                c.line("for (int e = 0; e < \(nb * ob); e++) "
                       + (ob == 1 ? "acc[e]" : "acc[e / \(ob)][e % \(ob)]") + " = part[e * \(Self.localSize) + li];")
            }
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
            "A block of \(nb) samples from n0 and \(ib) inputs from i (inputs fastest) per "
                + (L == 1 ? "invocation." : "\(L) invocations: lane l sums outputs [l * \(units) / \(L), (l + 1) * \(units) / \(L)), "
                    + "then the lanes' sums are added in a fixed tree (split-K, deterministic)."),
        ], bindings: dzBindings(k, g) + [params(g),
                    bind(k.operands.inputGradient!, as: "dx", .write)],
        threads: .sampleBlocks(block: nb, groups * L),
        note: "\(nb) samples x \(ib) inputs per block x \(L) lanes splitting the \(units) outputs"
            + (L == Self.localSize ? " (a workgroup's most)" : L * 2 > units ? " (as many as outputs)" : ""),
        sharedFloats: L > 1 ? nb * ib * Self.localSize : 0, lanes: L) { c in
            let LN = L > 1 ? "LANES" : "1"
            c.line("int lane = t % \(LN);")
            c.line("int i = ((t / \(LN)) % \(groups)) * \(ib);")
            c.line("int n0 = (t / (\(LN) * \(groups))) * \(nb);")
            c.line("\(T) acc[\(nb)];")
            c.line("int di[\(nb)];  // each sample's output-gradient row (the last sample again past the batch)")
            c.line("for (int j = 0; j < \(nb); j++) { acc[j] = \(T)(0.0); di[j] = min(n0 + j, pc.n - 1) * \(units); }")
            c.block("for (int o = \(L == 1 ? "0" : "lane * \(units) / LANES"); o < \(L == 1 ? "\(units)" : "(lane + 1) * \(units) / LANES"); o++)") { c in
                c.line("\(T) wv = \(GLSLText.load("params", "\(W) + i * \(units) + o", ib, stride: "\(units)"));")
                c.line("for (int j = 0; j < \(nb); j++) acc[j] += \(dz(g, "di[j] + o")) * wv;")
            }
            if L > 1 {
                c.line("int li = int(gl_LocalInvocationID.x);")
                c.line("for (int e = 0; e < \(nb * ib); e++) part[e * \(Self.localSize) + li] = "
                       + (ib == 1 ? "acc[e];" : "acc[e / \(ib)][e % \(ib)];"))
                Self.laneTree(&c, values: nb * ib)
                c.line("if (!inRange || lane != 0) return;")
                c.line("for (int e = 0; e < \(nb * ib); e++) "
                       + (ib == 1 ? "acc[e]" : "acc[e / \(ib)][e % \(ib)]") + " = part[e * \(Self.localSize) + li];")
            }
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
