import Foundation

/// Keeps generated source under a line length, as a person would write it: a long statement continues on the next
/// line after a comma, semicolon or operator, indented one step deeper; a trailing comment moves above its code; a
/// long comment continues as another comment line. Shared by every printer (C, GLSL and Swift use the same `//`
/// comments, the same string quotes and allow a line break between any two tokens).
enum LineWrap {
    static let limit = 120

    /// `text` with every line over `limit` characters broken, where that can be done without changing what the
    /// code means. Preprocessor lines, macro continuations and lines that cannot be broken (one long string
    /// literal) stay as they are.
    static func wrap(_ text: String, limit: Int = LineWrap.limit) -> String {
        var out: [String] = []
        var inMacro = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let continues = line.hasSuffix("\\")
            defer { inMacro = continues }
            if line.count <= limit || inMacro || continues || line.drop { $0 == " " }.hasPrefix("#") {
                out.append(line)
                continue
            }
            out += wrapLine(line, limit: limit)
        }
        return out.joined(separator: "\n")
    }

    private static func wrapLine(_ line: String, limit: Int) -> [String] {
        let chars = Array(line)
        let indent = String(chars.prefix { $0 == " " })
        let body = String(chars.dropFirst(indent.count))
        if body.hasPrefix("//") { return wrapComment(indent: indent, body: body, limit: limit) }
        guard let comment = trailingComment(chars) else { return wrapCode(indent: indent, code: body, limit: limit) }
        let code = String(chars[indent.count..<comment]).trimmingCharacters(in: .whitespaces)
        let text = String(chars[comment...])
        return wrapComment(indent: indent, body: text, limit: limit) + wrapCode(indent: indent, code: code, limit: limit)
    }

    /// A comment line broken at spaces, its text kept as written (aligned columns stay aligned); continuation
    /// lines keep the comment's own indentation plus four.
    private static func wrapComment(indent: String, body: String, limit: Int) -> [String] {
        let inner = body.dropFirst(2).prefix { $0 == " " }.count
        let more = indent + "//" + String(repeating: " ", count: max(inner, 1) + 4)
        var lines: [String] = []
        var rest = Array(indent + body)
        var minimum = indent.count + 2 + inner
        while rest.count > limit {
            guard let space = rest[..<(limit + 1)].lastIndex(of: " "), space > minimum else { break }
            lines.append(String(rest[..<space]).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression))
            rest = Array(more) + Array(rest[space...].drop { $0 == " " })
            minimum = more.count
        }
        lines.append(String(rest))
        return lines
    }

    /// Code broken after the last `, ` `; ` `&& ` `|| ` `+ ` that fits, outside string literals; continuation
    /// lines are indented eight more. A piece with no such place stays long.
    private static func wrapCode(indent: String, code: String, limit: Int) -> [String] {
        var lines: [String] = []
        var rest = Array(code)
        var prefix = indent
        while prefix.count + rest.count > limit {
            let room = limit - prefix.count
            guard let cut = breakPoint(rest, within: room) else { break }
            lines.append(prefix + String(rest[..<cut]).trimmingCharacters(in: .whitespaces))
            rest = Array(rest[cut...].drop { $0 == " " })
            prefix = indent + "        "
        }
        lines.append(prefix + String(rest))
        return lines
    }

    /// The index just after the last break opportunity at or before `room`, outside string and character literals.
    private static func breakPoint(_ s: [Character], within room: Int) -> Int? {
        var best: Int?
        var quote: Character?
        var i = 0
        while i < s.count {
            let ch = s[i]
            if let q = quote {
                if ch == "\\" { i += 2; continue }
                if ch == q { quote = nil }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if i + 1 < s.count, s[i + 1] == " ", i + 1 <= room, i > 0 {
                if ch == "," || ch == ";" { best = i + 1 }
                if (ch == "&" || ch == "|") && i > 0 && s[i - 1] == ch { best = i + 1 }
                if (ch == "+" || ch == "?" || ch == ":") && i > 0 && s[i - 1] == " " { best = i + 1 }
            }
            if i > room && best != nil { break }
            i += 1
        }
        // A break that leaves almost nothing on the first line reads worse than a long line.
        guard let b = best, b > 20 else { return nil }
        return b
    }

    /// Where a `//` comment starts after code on the same line, outside string literals; nil if none.
    private static func trailingComment(_ s: [Character]) -> Int? {
        var quote: Character?
        var i = 0
        while i + 1 < s.count {
            let ch = s[i]
            if let q = quote {
                if ch == "\\" { i += 2; continue }
                if ch == q { quote = nil }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == "/" && s[i + 1] == "/" {
                return s[..<i].allSatisfy { $0 == " " } ? nil : i
            } else if ch == "/" && s[i + 1] == "*" {
                // A block comment inside code (`params + 0 /* conv1.weight */`): skip to its end.
                i += 2
                while i + 1 < s.count && !(s[i] == "*" && s[i + 1] == "/") { i += 1 }
                i += 2
                continue
            }
            i += 1
        }
        return nil
    }
}
