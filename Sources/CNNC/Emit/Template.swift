import CNNCTemplates

/// Fills a template's named holes (`{{name}}`). Every hole must be given and every value must have a hole,
/// so a renamed hole is an error in cnnc, never silently empty output.
enum Template {
    static func fill(_ path: String, _ values: [String: String]) throws -> String {
        let text = try Templates.text(path)
        var out = ""
        var used = Set<String>()
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw CompileError("internal error: template \(path) has an unclosed hole")
            }
            let name = String(rest[open.upperBound..<close.lowerBound])
            guard let value = values[name] else { throw CompileError("internal error: template \(path) hole '\(name)' not filled") }
            out += value
            used.insert(name)
            rest = rest[close.upperBound...]
        }
        out += rest
        if let extra = Set(values.keys).subtracting(used).sorted().first {
            throw CompileError("internal error: template \(path) has no hole '\(extra)'")
        }
        return out
    }
}

/// Accumulates indented source lines.
struct CodeWriter {
    private(set) var text = ""
    private var depth = 0
    var indentUnit = "    "

    mutating func line(_ s: String = "") {
        text += s.isEmpty ? "\n" : String(repeating: indentUnit, count: depth) + s + "\n"
    }
    mutating func block(_ head: String, _ body: (inout CodeWriter) -> Void) {
        line(head.isEmpty ? "{" : head + " {")
        depth += 1
        body(&self)
        depth -= 1
        line("}")
    }
    /// `prefix for (int v = 0; v < end; v += step) { body }`; where that loop would run once, `v` is a constant 0
    /// in the current scope and `body` follows it without a loop (generated code has no loops that run once).
    mutating func loop(_ prefix: String = "", _ v: String, to end: Int, step: Int = 1,
                       _ body: (inout CodeWriter) -> Void) {
        if end <= step {
            line("const int \(v) = 0;")
            body(&self)
        } else {
            block("\(prefix)for (int \(v) = 0; \(v) < \(end); \(v) \(step == 1 ? "++" : "+= \(step)"))", body)
        }
    }
    mutating func indent(_ body: (inout CodeWriter) -> Void) {
        depth += 1
        body(&self)
        depth -= 1
    }
}
