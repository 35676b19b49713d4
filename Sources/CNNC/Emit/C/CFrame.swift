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
        }
        c.block("static void \(k.name)(\((parameters + ["int n0", "int n1"]).joined(separator: ", ")))") { c in
            let loops = ["for (int n = n0; n < n1; n++)"]
                + k.grid.items.map { "for (int \($0.name) = 0; \($0.name) < \($0.count); \($0.name)++)" }
            c.block(loops.joined(separator: " ")) { c in
                KernelPrinter(lang: lang) { array, index in "\(array)[\(index)]" }.print(k.body, into: &c)
            }
        }
        return c.text
    }

    /// The call from a step function: each array as the storage, or parameter slice, it stands for.
    func call(_ k: LoweredKernel) -> String {
        let arguments = k.arrays.map { a -> String in
            switch a.source {
            case .buffer(let name): return "b->" + (plan.buffer(name)?.storage ?? name)
            case .parameter(let name): return "params + \(plan.parameterOffsets[name]!) /* \(name) */"
            case .parameterGradient(let name): return "grads + \(plan.parameterOffsets[name]!) /* \(name) */"
            }
        }
        return "\(k.name)(\((arguments + ["n0", "n1"]).joined(separator: ", ")))"
    }
}
