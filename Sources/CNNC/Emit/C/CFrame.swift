/// The C spelling of a lowered kernel: a static function over a thread's samples [n0, n1), its arrays as restrict
/// pointers (a parameter as a pointer to its slice of the flat array), the grid's coordinates as nested loops.
struct CFrame {
    let plan: KernelPlan
    let lang = KernelLanguage.c

    /// The function, under the comment that says what it computes, where it comes from and its arrays' shapes.
    func function(_ k: LoweredKernel) -> String {
        var c = CodeWriter()
        var title = "// " + (k.summary.first ?? k.name)
        if let gi = k.group {
            let g = plan.groups[gi]
            let layers = g.layers.map { plan.network.layers[$0].name }.joined(separator: " + ")
            title += "  [\(layers); \(Spelling.fileName(g.location.file)):\(g.location.line)]"
        }
        c.line(title)
        k.summary.dropFirst().forEach { c.line("// " + $0) }
        c.line("// " + k.arrays.map { "\($0.name) is \($0.comment)" }.joined(separator: ", "))
        let parameters = k.arrays.map { a in
            "\(a.access == .read ? "const " : "")\(lang.type(a.type))* restrict \(a.name)"
        } + k.stepValues.map { "\(lang.type($0.type)) \($0.rawValue)" }
        let totals = k.totals.map { "\(total($0))* restrict \($0.name)_out" }
        if k.overBatch {
            // Items [i0, i1) of the grid's one coordinate, each over every sample of the batch; with lanes, a vector
            // of them at a time (the stage gives each thread whole vectors).
            let item = k.grid.items[0]
            let scalar = KernelPrinter(lang: lang) { array, index in "\(array)[\(index)]" }
            c.block("static void \(k.name)(\((parameters + ["int i0", "int i1"]).joined(separator: ", ")))") { c in
                guard item.lanes > 1 else {
                    c.block("for (int \(item.name) = i0; \(item.name) < i1; \(item.name)++)") { c in scalar.print(k.body, into: &c) }
                    return
                }
                precondition(item.lanes == Self.vectorWidth && item.count % item.lanes == 0, "whole vectors of items")
                let lanes = CLanes(k.body, coordinate: item.name, width: item.lanes, arrays: k.arrays, scalar: scalar)
                if CLanes.usesLaneValue(k.body, coordinate: item.name) {
                    c.line("const vi\(item.lanes) lane = {\((0..<item.lanes).map(String.init).joined(separator: ", "))};")
                }
                c.block("for (int \(item.name) = i0; \(item.name) < i1; \(item.name) += \(item.lanes))") { c in
                    lanes.printer.print(k.body, into: &c)
                }
            }
            return c.text
        }
        c.block("static void \(k.name)(\((parameters + ["int n0", "int n1"] + totals).joined(separator: ", ")))") { c in
            k.totals.forEach { c.line("\(total($0)) \($0.name) = 0;") }
            let scalar = KernelPrinter(lang: lang) { array, index in "\(array)[\(index)]" }
            var printer = scalar
            var loops = ["for (int n = n0; n < n1; n++)"], once: [Stmt] = [], body = k.body, arrays: [String] = []
            for item in k.grid.items {
                guard item.lanes > 1 else {
                    loops.append("for (int \(item.name) = 0; \(item.name) < \(item.count); \(item.name)++)")
                    continue
                }
                let lanes = CLanes(k.body, coordinate: item.name, width: item.lanes, arrays: k.arrays, scalar: scalar)
                guard item.lanes == Self.vectorWidth else {
                    precondition(item.lanes == item.count, "lanes are a vector or the whole coordinate")
                    (arrays, body) = lanes.arrayForm(count: item.count)
                    continue
                }
                if item.lanes == item.count {
                    once.append(.constant(item.name, .int, 0))  // one step of lanes: no loop
                } else {
                    loops.append("for (int \(item.name) = 0; \(item.name) < \(item.count); \(item.name) += \(item.lanes))")
                }
                printer = lanes.printer
                if CLanes.usesLaneValue(k.body, coordinate: item.name) {
                    c.line("const vi\(item.lanes) lane = {\((0..<item.lanes).map(String.init).joined(separator: ", "))};")
                }
            }
            c.block(loops.joined(separator: " ")) { c in
                arrays.forEach { c.line($0) }
                printer.print(once + body, into: &c)
            }
            k.totals.forEach { c.line("*\($0.name)_out = \($0.name);") }
        }
        return c.text
    }

    /// Floats in the kernel file's vector registers (`vf16`).
    static let vectorWidth = 16

    /// A total's C type: a float sum in double, so that it does not depend on how the samples are split.
    private func total(_ t: Total) -> String { t.type == .float ? "double" : lang.type(t.type) }

    /// The call from a step function: each array as the storage, or parameter slice, it stands for.
    /// A kernel over the batch writes its parameter gradients whole into thread 0's array, `shared`.
    func call(_ k: LoweredKernel, stepValues: [StepValue: String] = [:]) -> String {
        let arguments = k.arrays.map { a -> String in
            switch a.source {
            case .buffer(let name): return "b->" + (plan.buffer(name)?.storage ?? name)
            case .parameter(let name): return "params + \(plan.parameterOffsets[name]!) /* \(name) */"
            case .parameterGradient(let name):
                return "\(k.overBatch ? "shared" : "grads") + \(plan.parameterOffsets[name]!) /* \(name) */"
            case .hostOutput(let name): preconditionFailure("the CPU target has no host array \(name)")
            }
        }
        let values = k.stepValues.map { stepValues[$0] ?? $0.rawValue }
        let range = k.overBatch ? ["i0", "i1"] : ["n0", "n1"]
        return "\(k.name)(\((arguments + values + range + k.totals.map(\.name)).joined(separator: ", ")))"
    }
}
