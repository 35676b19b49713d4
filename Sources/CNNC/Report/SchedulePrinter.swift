/// Prints the schedule stage's decisions (`Schedule.cpu`, `Schedule.gpu`): one line per conv and dense kernel and
/// target, then the CPU backward stages and parameter ranges. `cnnc plan` shows it after the plan.
extension PlanPrinter {
    /// `cpu`: the CPU schedule to print (nil: the standard one; a tuning's otherwise).
    public static func renderSchedule(_ plan: KernelPlan, cpu: CPUSchedule? = nil) -> String {
        let cpu = cpu ?? Schedule.cpu(plan), gpu = Schedule.gpu(plan)
        var out = "schedule (cpu: \(cpu.budget.lanes)-float vectors; vulkan: workgroups of \(gpu.budget.localSize)):\n"
        for (ki, k) in plan.kernels.enumerated() {
            guard let lines = scheduleLines(plan, ki, cpu, gpu) else { continue }
            out += "  \(pad(String(ki), 3)) \(pad(k.name, 20)) cpu: \(lines.cpu)\n"
            out += "  \(pad("", 3)) \(pad("", 20)) vulkan: \(lines.gpu)\n"
        }
        if cpu.forwardStages.count > 1 {
            out += "\ncpu forward stages (threads wait for each other after each):\n"
            for (si, stage) in cpu.forwardStages.enumerated() {
                switch stage {
                case let .samples(kernels):
                    let names = kernels.map { plan.kernels[$0].name }.joined(separator: ", ")
                    out += "  \(si): on each thread's samples: \(names.isEmpty ? "nothing" : names)\n"
                case let .overBatch(ki, items, block):
                    out += overBatchLine(plan, si, ki, items, block)
                case .batchWide: break
                }
            }
        }
        out += "\ncpu backward stages (threads wait for each other after each):\n"
        for (si, stage) in cpu.backwardStages.enumerated() {
            switch stage {
            case let .samples(kernels):
                let names = kernels.map { plan.kernels[$0].name }.joined(separator: ", ")
                out += "  \(si): on each thread's samples: \(names.isEmpty ? "nothing" : names)\n"
            case let .batchWide(ki, rows, block):
                out += "  \(si): \(plan.kernels[ki].name)'s weight gradient over the whole batch, its \(rows) rows "
                    + "split across the threads in blocks of \(block)\n"
            case let .overBatch(ki, items, block):
                out += overBatchLine(plan, si, ki, items, block)
            }
        }
        out += "cpu parameter ranges: " + cpu.parameterRanges.map {
            "\($0.range.lowerBound)..<\($0.range.upperBound) " + ($0.accumulated ? "per thread" : "batch-wide")
        }.joined(separator: ", ") + "\n"
        return out
    }

    /// A stage over the whole batch: its channels split across the threads, in vectors of lanes where it has them.
    static func overBatchLine(_ plan: KernelPlan, _ si: Int, _ ki: Int, _ items: Int, _ block: Int) -> String {
        "  \(si): \(plan.kernels[ki].name) over the whole batch, its \(items) channels split across the threads"
            + (block > 1 ? " in vectors of \(block)" : "") + "\n"
    }

    /// The schedule of plan kernel `ki` on each target, or nil for a kernel with nothing to decide.
    static func scheduleLines(_ plan: KernelPlan, _ ki: Int, _ cpu: CPUSchedule,
                              _ gpu: GPUSchedule) -> (cpu: String, gpu: String)? {
        let k = plan.kernels[ki]
        // A gradient sum belongs to its reader's group but is an elementwise kernel of its own, with no schedule.
        guard let gi = k.group, k.phase == .forward || k.phase == .backward, k.operands.gradientTerm == nil else {
            return nil
        }
        let needsInputGradient = plan.groups[gi].needsInputGradient
        guard let cpuLine = describe(cpu.groups[gi], k.phase, plan.groups[gi]) else { return nil }
        switch (gpu.groups[gi], k.phase == .forward) {
        case let (.conv(g), true):
            return (cpuLine, "\(plural(g.forward.columns, "column")) x \(plural(g.forward.channels, "filter")) "
                    + "per invocation")
        case let (.conv(g), false):
            let dx = "input gradient \(plural(g.inputGradient.columns, "column")) x "
                + "\(plural(g.inputGradient.channels, "channel")) per invocation; "
            return (cpuLine, (needsInputGradient ? dx : "")
                    + "weight gradient \(describe(g.weightGradient, "channel", "filter"))")
        case let (.dense(g), true):
            return (cpuLine, "\(plural(g.samples, "sample")) x \(plural(g.outputs, "output")) per invocation")
        case let (.dense(g), false):
            let dx = "input gradient \(plural(g.samples, "sample")) x \(plural(g.inputs, "input")) per invocation; "
            return (cpuLine, (needsInputGradient ? dx : "")
                    + "weight gradient \(describe(g.weightGradient, "input", "output"))")
        default:
            return nil
        }
    }

    /// The forward or backward half of group `g`'s CPU schedule in words (what `cnnc plan` and tuning.json's
    /// candidates say); nil for a group with nothing decided.
    static func describe(_ s: CPUGroupSchedule, _ phase: Phase, _ g: FusedGroup) -> String? {
        switch (s, phase == .forward) {
        case let (.conv(form, _), true): return describe(form)
        case let (.conv(_, form), false): return describe(form)
        case let (.dense(form, _), true): return describe(form)
        case let (.dense(_, form), false): return describe(form, inputGradient: g.needsInputGradient)
        case (.fixed, _): return nil
        }
    }

    static func describe(_ form: ConvForwardForm) -> String {
        switch form {
        case let .rows(blocks, cv, looped, inRegisters):
            return "rows of \(sizes(blocks.map(\.count))) outputs x \(16 * cv) filters (\(plural(cv, "vector")))"
                + (looped ? ", filter groups looped" : "")
                + (inRegisters ? ", epilogue in registers" : ", epilogue pass")
        case .direct:
            return "direct: each output's taps in registers"
        case let .taps(outputs):
            return "tap by tap, \(plural(outputs, "output")) at a time in registers, epilogue pass"
        }
    }

    static func describe(_ form: ConvBackwardForm) -> String {
        switch form {
        case let .singlePass(taps):
            return "single pass: the whole weight gradient (\(taps) taps) in registers"
        case let .perSample(inputGradient, w):
            let block = w.sharedTaps > 1
                ? "rows: \(plural(w.channels, "channel")) x \(w.sharedTaps) taps sharing each input"
                : "\(plural(w.channels, "channel")) x \(plural(w.positions, "position"))"
            let weights = "weight gradient \(block), \(plural(w.samples, "sample")) per sum"
            switch inputGradient {
            case .none: return weights
            case let .rows(blocks, cv):
                return "input gradient rows of \(sizes(blocks)) outputs x \(16 * cv) channels; " + weights
            case let .blocked(blocks):
                return "input gradient tap by tap, \(sizes(blocks)) outputs at a time; " + weights
            case .dotProducts:
                return "input gradient as dot products (weights too large to transpose); " + weights
            }
        }
    }

    static func describe(_ s: DenseForwardSchedule) -> String {
        let unrolled = s.tiles.dropFirst(s.looped).map(\.width)
        let looped = s.looped > 0 ? "\(s.looped) looped tiles of \(s.tile), then " : ""
        return "\(s.samples) samples x \(looped)tiles of \(sizes(unrolled)) outputs"
    }

    static func describe(_ form: DenseBackwardForm, inputGradient: Bool) -> String {
        switch form {
        case let .perSample(samples):
            return "\(samples) samples at a time, weight gradient summed per thread"
        case let .batchWide(w):
            let widths = w.chunks.map(\.width)
            return "batch-wide stage: weight gradient \(w.rows) rows x chunks of \(sizes(widths)) outputs"
                + (w.looped > 0 ? " (\(w.looped) looped)" : "")
                + (inputGradient ? "; input gradient \(w.inputGradientSamples) samples x "
                    + "\(sizes(w.inputGradientWidths)) inputs" : "")
        }
    }

    /// A reduction's blocks, e.g. `4 channels x 4 filters per invocation, 14 chunks of the batch`.
    static func describe(_ b: GPUReductionBlock, _ inputs: String, _ outputs: String) -> String {
        "\(plural(b.inputs, inputs)) x \(plural(b.outputs, outputs)) per invocation, "
            + "\(plural(b.chunks, "chunk")) of the batch"
    }

    /// Block sizes as `8,8,8,4`; a long run of one size as `8 x12`.
    static func sizes(_ counts: [Int]) -> String {
        var runs: [(size: Int, count: Int)] = []
        for c in counts {
            if let last = runs.last, last.size == c { runs[runs.count - 1].count += 1 } else { runs.append((c, 1)) }
        }
        return runs.map { r in
            r.count > 4 ? "\(r.size) x\(r.count)"
                : Array(repeating: String(r.size), count: r.count).joined(separator: ",")
        }.joined(separator: ",")
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
}
