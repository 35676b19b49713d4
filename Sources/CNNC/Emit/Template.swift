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
        loop(prefix, v, to: end, step: step) { c, index in
            if index != v { c.line("const int \(v) = 0;") }
            body(&c)
        }
    }
    /// `prefix for (int v = 0; v < end; v += step) { body(v) }`; where that loop would run once, `body("0")` in the
    /// current scope, for a body that spells its indices with `Index.times` and `Index.add`, so that `v` drops out.
    mutating func loop(_ prefix: String, _ v: String, to end: Int, step: Int = 1,
                       index body: (inout CodeWriter, String) -> Void) {
        let (head, index) = CodeWriter.counted(prefix, v, to: end, step: step)
        if head.isEmpty { body(&self, index) } else { block(String(head.dropLast())) { c in body(&c, index) } }
    }
    /// `outer` (a loop's head) with the loop `prefix for (int v = 0; v < end; v += step)` on the same line; where
    /// that inner loop would run once, `outer` alone, with `v` a constant 0 first in its body.
    mutating func loop(_ outer: String, _ prefix: String, _ v: String, to end: Int, step: Int = 1,
                       _ body: (inout CodeWriter) -> Void) {
        let (inner, _) = CodeWriter.counted(prefix, v, to: end, step: step)
        block(outer + (inner.isEmpty ? "" : " " + inner.dropLast())) { c in
            if inner.isEmpty { c.line("const int \(v) = 0;") }
            body(&c)
        }
    }
    /// The head of a one-line loop `prefix for (int v = 0; v < end; v += step) ` (with its trailing space) to put
    /// before a statement, and the index that statement uses for `v`: where the loop would run once there is no
    /// head and the index is `0` (generated code has no loops that run once; `Index.times`, `Index.add` drop it).
    static func counted(_ prefix: String = "", _ v: String, to end: Int, step: Int = 1)
        -> (head: String, index: String) {
        if end <= step { return ("", "0") }
        return ("\(prefix)for (int \(v) = 0; \(v) < \(end); \(v)\(step == 1 ? "++" : " += \(step)")) ", v)
    }
    mutating func indent(_ body: (inout CodeWriter) -> Void) {
        depth += 1
        body(&self)
        depth -= 1
    }
}
