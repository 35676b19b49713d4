/// The GLSL forms of the kernels the lowering has no rule for yet besides convs and dense layers: pooling (a gather
/// per input element backward, no atomics), the cross-entropy loss (with the hit flags) and the SGD update.
extension GLSLProgram {
    func sgdUpdate(_ ki: Int) -> GLSLShader {
        let n = plan.parameterCount
        return shader("sgd_update", kernel: ki, group: nil, what: [
            "SGD with momentum (PyTorch's): v = mu * v + g; w -= lr * v, over all \(n) parameters.",
            "One invocation per parameter; lr and mu are push constants.",
        ], bindings: [
            GLSLBinding(storage: "params", array: "params", access: .readWrite, comment: "(\(n)) parameters"),
            GLSLBinding(storage: "momentum", array: "momentum", access: .readWrite, comment: "(\(n)) momentum"),
            GLSLBinding(storage: "grads", array: "grads", access: .read, comment: "(\(n)) mean gradients of the last batch"),
        ], threads: .fixed(n)) { c in
            c.line("float v = pc.mu * momentum[t] + grads[t];")
            c.line("momentum[t] = v;")
            c.line("params[t] -= pc.lr * v;")
        }
    }

    // MARK: pooling

    func poolForward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, _ kind: PoolKind, _ w: Window) -> GLSLShader {
        let i = g.input, o = g.output
        let argmax = k.operands.argmax != nil
        var binds = [bind(k.operands.input!, as: "x", .read), bind(k.operands.output!, as: "y", .write)]
        if let arg = k.operands.argmax { binds.append(bind(arg, as: "arg", .write)) }
        return shader(k.name, kernel: ki, group: g, what: [
            "in is \(GLSLText.nhwc(i)), out is \(GLSLText.nhwc(o))"
                + (argmax ? "; argmax \(GLSLText.nhwc(o)) is the winning input offset within its sample" : ""),
            "One invocation per output element (n, oy, ox, c), c fastest." + (kind == .avg ? " Padded cells are not counted." : ""),
        ], bindings: binds, threads: .perSample(o.count)) { c in
            GLSLProgram.split("t", o, y: "oy", x: "ox", c: "c").forEach { c.line($0) }
            if kind == .max {
                c.line("float best = uintBitsToFloat(0xff800000u);  // -infinity")
                c.line("int at = 0;")
            } else {
                c.line("float sum = 0.0;")
                c.line("int count = 0;")
            }
            taps(&c, w, i) { c in
                c.line("int base = (iy * \(i.w) + ix) * \(i.c) + c;")
                if kind == .max {
                    c.line("float v = x[n * \(i.count) + base];")
                    c.line("if (v > best) { best = v; at = base; }")
                } else {
                    c.line("count++;")
                    c.line("sum += x[n * \(i.count) + base];")
                }
            }
            if kind == .max {
                c.line("y[t] = best;")
                if argmax { c.line("arg[t] = at;") }
            } else {
                c.line("y[t] = sum * (1.0 / float(count));")
            }
        }
    }

    func poolBackward(_ k: Kernel, _ ki: Int, _ g: FusedGroup, _ kind: PoolKind, _ w: Window) -> GLSLShader {
        let i = g.input, o = g.output
        var binds = [bind(k.operands.outputGradient!, as: "dy", .read)]
        if kind == .max { binds.append(bind(k.operands.argmax!, as: "arg", .read)) }
        binds.append(bind(k.operands.inputGradient!, as: "dx", .write))
        return shader(k.name, kernel: ki, group: g, what: [
            "dout is \(GLSLText.nhwc(o)), din \(GLSLText.nhwc(i))",
            kind == .max ? "din[n,iy,ix,c] = sum of dout over the windows whose argmax is this input element"
                : "din[n,iy,ix,c] = sum over the windows containing it of dout / (cells in that window)",
            "One invocation per input element (n, iy, ix, c), c fastest; it gathers its terms (no atomics).",
        ], bindings: binds, threads: .perSample(i.count)) { c in
            GLSLProgram.split("t", i, y: "iy", x: "ix", c: "c").forEach { c.line($0) }
            if kind == .max { c.line("int me = (iy * \(i.w) + ix) * \(i.c) + c;") }
            c.line("float acc = 0.0;")
            outputsReading(&c, w, o) { c in
                c.line("int j = \(GLSLText.nhwc("n", "oy", "ox", "c", o));")
                if kind == .max {
                    c.line("if (arg[j] == me) acc += dy[j];")
                } else {
                    c.line("int y0 = \(Index.tap("oy", "0", stride: w.stride.y, pad: w.padding.top));")
                    c.line("int x0 = \(Index.tap("ox", "0", stride: w.stride.x, pad: w.padding.left));")
                    c.line("int count = (min(y0 + \(w.kernel.y), \(i.h)) - max(y0, 0)) * (min(x0 + \(w.kernel.x), \(i.w)) - max(x0, 0));")
                    c.line("acc += dy[j] * (1.0 / float(count));")
                }
            }
            c.line("dx[t] = acc;")
        }
    }

    // MARK: softmax and the loss

    /// Cross-entropy on the softmax: loss = logsumexp(x) - x[label] (stable), hit = argmax(x) == label and, when
    /// training (pc.train), dx = (probs - onehot) / batch.
    func crossEntropy(_ k: Kernel, _ ki: Int, _ g: FusedGroup) -> GLSLShader {
        let n = g.output.count
        let o = k.operands
        var binds = [bind(o.probabilities!, as: "p", .read), bind(o.input!, as: "x", .read), bind(o.labels!, as: "labels", .read),
                     bind(o.loss!, as: "loss", .write),
                     GLSLBinding(storage: "hits", array: "hits", access: .write, integer: true, comment: "hits: (N)")]
        if let dx = o.inputGradient { binds.append(bind(dx, as: "dx", .write)) }
        return shader(k.name, kernel: ki, group: g, what: [
            "cross-entropy of the softmax: loss = log(sum(exp(x - m))) + m - x[label]",
            "probs and x (the logits) are (N,\(n)), labels, loss and hits (N); dx is (N,\(n)): (probs - onehot) / batch",
            "One invocation per sample.",
        ], bindings: binds, threads: .perSample(1)) { c in
            c.line("int b = t * \(n);")
            c.line("int label = labels[t];")
            c.line("float m = x[b];")
            c.line("int best = 0;")
            c.line("for (int j = 1; j < \(n); j++) if (x[b + j] > m) { m = x[b + j]; best = j; }")
            c.line("float s = 0.0;")
            c.line("for (int j = 0; j < \(n); j++) s += exp(x[b + j] - m);")
            c.line("loss[t] = log(s) + m - x[b + label];")
            c.line("hits[t] = best == label ? 1 : 0;")
            if o.inputGradient != nil {
                c.block("if (pc.train != 0)") { c in
                    c.line("float inv = 1.0 / float(pc.n);")
                    c.line("for (int j = 0; j < \(n); j++) dx[b + j] = (p[b + j] - (j == label ? 1.0 : 0.0)) * inv;")
                }
            }
        }
    }
}
