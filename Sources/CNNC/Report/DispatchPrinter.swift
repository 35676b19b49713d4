/// `cnnc plan --target vulkan`: every dispatch of one Vulkan training step (GLSLProgram.dispatches) with the phase
/// it runs in, its invocations and workgroups at a batch size, and for one with fewer invocations than a large GPU
/// needs in flight (`GLSLProgram.enoughInvocations`), why.
extension PlanPrinter {
    public static func renderDispatches(_ plan: KernelPlan, batch: Int) throws -> String {
        let program = try GLSLProgram(plan: plan)
        let dispatches = program.dispatches(batch: batch)
        let phases = (dispatches.map(\.level).max() ?? -1) + 1
        let width = max(24, (program.shaders.map(\.name.count).max() ?? 0) + 2)
        var out = "vulkan: one training step at batch \(batch), in phases separated by barriers (workgroups of "
            + "\(GLSLProgram.localSize) invocations; under \(GLSLProgram.enoughInvocations) invocations, the reason):\n"
        out += "  phase  " + pad("shader", width) + pad("invocations", 12, right: true)
            + pad("workgroups", 12, right: true) + "\n"
        for d in dispatches {
            let s = program.shaders[d.shader]
            out += "  " + pad(String(d.level), 5, right: true) + "  " + pad(s.name, width)
                + pad(String(d.invocations), 12, right: true) + pad(String(d.workgroups), 12, right: true)
            if d.invocations < GLSLProgram.enoughInvocations {
                out += "  " + (s.note ?? "no reason stated")
            }
            out += "\n"
        }
        out += "  \(dispatches.count) dispatches in \(phases) phases (the update is the previous step's, run at the "
            + "start of this one: sgd_update, or adam_update for adam and adamw)\n"
        return out
    }

    static func pad(_ s: String, _ width: Int, right: Bool) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
