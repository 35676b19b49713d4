/// Prints the kernel plan: what will run, in order, on which buffers, and how long each buffer lives.
/// `cnnc plan` shows it; both emitters put it at the top of what they generate.
public enum PlanPrinter {
    public static func render(_ plan: KernelPlan, batch: Int) -> String {
        var out = "kernel plan for \(plan.network.name) (\(plan.network.sourceFile)), batch \(batch)\n\n"
        out += "fused groups:\n"
        // Columns as wide as their longest entry (at least the widths sequential nets always fit in).
        let nameWidth = plan.groups.map(\.name.count).max().map { max(12, $0) } ?? 12
        let whatWidth = plan.groups.map { describe($0).count }.max().map { max(44, $0) } ?? 44
        for g in plan.groups {
            let layers = g.layers.map { plan.network.layers[$0].name }.joined(separator: " + ")
            out += "  \(pad(g.name, nameWidth)) \(pad(describe(g), whatWidth)) \(layers)\n"
        }
        out += "\nkernels:\n"
        var phase: Phase?
        let kernelWidth = plan.kernels.map(\.name.count).max().map { max(20, $0) } ?? 20
        for (i, k) in plan.kernels.enumerated() {
            if k.phase != phase { out += "  -- \(k.phase.rawValue)\n"; phase = k.phase }
            var line = "  \(pad(String(i), 3)) \(pad(k.name, kernelWidth))"
            if !k.reads.isEmpty { line += " reads " + k.reads.joined(separator: ", ") }
            if !k.writes.isEmpty { line += (k.reads.isEmpty ? " " : "; ") + "writes " + k.writes.joined(separator: ", ") }
            if k.phase == .update {
                line += " \(k.parameters.count) tensors, \(plan.parameterCount) parameters"
            } else if !k.parameterGradients.isEmpty {
                line += "; grads " + k.parameterGradients.joined(separator: ", ")
            } else if !k.parameters.isEmpty {
                line += "; params " + k.parameters.joined(separator: ", ")
            }
            if k.macs > 0 { line += "; \(k.macs) MACs/sample" }
            if let loc = k.location { line += "  [line \(loc.line)]" }
            out += line + "\n"
        }
        out += "\nbuffers (per sample; storage shared where lifetimes do not overlap):\n"
        for b in plan.buffers {
            let life = b.firstUse < 0 ? "-" : "\(b.firstUse)..\(b.lastUse)"
            let storage = b.storage == b.name ? "" : "in \(b.storage)"
            let type = b.isInteger ? "i32" : "f32"
            out += "  \(pad(b.name, 18)) \(pad(b.role.rawValue, 10)) \(pad(type + " " + b.shape.description, 16)) "
            out += "\(pad("kernels " + life, 16)) \(storage)\n"
        }
        out += "\nparameters (one flat array, trainable ones first; gradients alike; optimizer state over the first "
            + "\(plan.trainableCount)):\n"
        for p in plan.parameters {
            let shape = p.layout.internalShape.map(String.init).joined(separator: "x")
            out += "  \(pad(p.name, 18)) offset \(pad(String(plan.parameterOffsets[p.name]!), 8)) \(shape)\n"
        }
        out += "\nmemory at batch \(batch): activations and gradients \(plan.activationBytes(batch: batch)) bytes\n"
        out += "parameters \(plan.parameterCount * 4) bytes, as much again for their gradients and per optimizer state array\n"
        return out
    }

    /// One line describing a group's operation and epilogue, e.g. `conv 3x3/1 pad 1 + bias element + relu`.
    public static func describe(_ g: FusedGroup) -> String {
        var s: String
        switch g.op {
        case let .conv(f, w): s = "conv \(f) \(w.kernel)/\(w.stride.y == w.stride.x ? "\(w.stride.y)" : "\(w.stride)") pad \(w.padding)"
        case let .dense(u): s = "dense \(u)"
        case .elementwise: s = ""
        case let .pool(k, w): s = "\(k.rawValue) \(w.kernel)/\(w.stride.y == w.stride.x ? "\(w.stride.y)" : "\(w.stride)") pad \(w.padding)"
        case .flatten: s = "flatten (view)"
        case .softmax: s = "softmax"
        case .add: s = "add " + g.inputs.joined(separator: " + ")
        case .concat: s = "concat " + g.inputs.joined(separator: " | ")
        case .globalAvgPool: s = "globalavgpool"
        case let .dropout(p): s = "dropout \(p)"
        case let .batchnorm(spec): s = BatchNormSpec(eps: spec.eps, momentum: spec.momentum).description
        }
        for b in g.biases {
            // On a flat tensor channel and element biases are the same thing: one value per element.
            if case .flatBias = b.parameter.layout { s += (s.isEmpty ? "" : " + ") + "bias"; continue }
            s += (s.isEmpty ? "" : " + ") + "bias \(b.kind.rawValue)"
        }
        if g.residuals > 0 { s += " + add " + g.residualInputs.joined(separator: " + ") }
        if let a = g.activation { s += (s.isEmpty ? "" : " + ") + a.description }
        return s
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
    }
}

extension PlanPrinter {
    /// The lowered form of every kernel that has a lowering rule, in plan order, in a neutral spelling (what both
    /// printers spell as C and as GLSL); the others are named with the form their printers choose, and the
    /// schedule each target gives them.
    public static func renderLowered(_ plan: KernelPlan) -> String {
        var out = "lowered kernels of \(plan.network.name) (target-neutral; `wide` marks batch-sized offsets)\n"
        let (cpu, gpu) = (Schedule.cpu(plan), Schedule.gpu(plan))
        for ki in plan.kernels.indices {
            let k = plan.kernels[ki]
            guard let lowered = Lowering.lower(plan, kernel: ki) else {
                out += "\nkernel \(ki) \(k.name): \(k.phase == .update ? "the optimizer step" : "per-target form")\n"
                if let s = scheduleLines(plan, ki, cpu, gpu) { out += "  cpu: \(s.cpu)\n  vulkan: \(s.gpu)\n" }
                continue
            }
            var c = CodeWriter()
            c.line("")
            c.line("kernel \(ki) \(lowered.name): " + (lowered.summary.first.map { String($0.drop { $0 != ":" }.dropFirst(2)) } ?? ""))
            for a in lowered.arrays { c.line("  \(a.access == .read ? "reads" : a.access == .write ? "writes" : "updates") \(a.name): \(a.comment)") }
            if !lowered.stepValues.isEmpty {
                c.line("  step values: " + lowered.stepValues.map(\.rawValue).joined(separator: ", "))
            }
            if !lowered.totals.isEmpty {
                c.line("  sums over the samples: " + lowered.totals.map(\.name).joined(separator: ", "))
            }
            let items = lowered.grid.items.map { "\($0.name) < \($0.count)" + ($0.lanes > 1 ? " (\($0.lanes) lanes)" : "") }
            if lowered.overBatch {
                c.line("  once for the whole batch, for each " + items.joined(separator: ", ") + ":")
            } else {
                c.line("  for each sample n" + (items.isEmpty ? "" : ", " + items.joined(separator: ", ")) + ":")
            }
            c.indent { c in KernelPrinter(lang: .neutral) { "\($0)[\($1)]" }.print(lowered.body, into: &c) }
            out += c.text
        }
        return out
    }
}
