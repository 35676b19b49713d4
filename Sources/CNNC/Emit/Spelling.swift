/// How a string the user controls (a file name, the network's name, a path) is spelled in the code cnnc
/// generates. Every such string reaches generated Swift, C and GLSL through exactly one of these functions, so
/// a hostile name (quotes, backslashes, newlines, `*/`, Unicode) is data, never code.
///
/// Layer and parameter names are the exception that proves the rule: the grammar limits them to
/// `[A-Za-z0-9_-]` (plus `.weight`/`.bias`), which is comment text as it stands; `Symbols.assign` checks
/// that, and hands out the identifiers derived from them (`conv1_forward`).
public enum Spelling {
    /// A Swift string literal, quotes included, whose value is exactly `s` (scalar for scalar). Quote and
    /// backslash are escaped (so `\(` cannot interpolate), and every scalar outside printable ASCII is written
    /// `\u{...}`, so a literal never spans lines and never hides bidirectional or invisible characters.
    public static func swiftString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case " "..."~": out.unicodeScalars.append(u)
            default: out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out + "\""
    }

    /// A C string literal, quotes included, whose bytes are the UTF-8 of `s`. Bytes outside printable ASCII are
    /// three-digit octal escapes (an octal escape stops after three digits, so a following digit stays a digit;
    /// a hex escape would swallow it), and `?` is `\?` so that no trigraph forms.
    public static func cString(_ s: String) -> String {
        var out = "\""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "?"): out += "\\?"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let octal = String(b, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }
        }
        return out + "\""
    }

    /// Text that stays inside any comment of C, GLSL or Swift, line (`//`) or block (`/* */`): printable ASCII
    /// only. A newline would end a line comment, a backslash at its end (or the trigraph `??/`) would continue it
    /// into the next line, `*/` would end a block comment and `/*` would open a nested one in Swift; so every
    /// scalar outside printable ASCII, and the backslash, is written `<U+XXXX>`, and the pairs `*/`, `/*` and `??`
    /// get a space between their characters. Readable text passes unchanged. (The text is safe between any
    /// characters but `*`, `/` and `?`, which no template or printer puts next to it.)
    public static func comment(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u.value >= 0x20 && u.value <= 0x7E && u != "\\" {
                let c = Character(u)
                if let last = out.last, (last == "*" && c == "/") || (last == "/" && c == "*") || (last == "?" && c == "?") {
                    out += " "
                }
                out.append(c)
            } else {
                let hex = String(u.value, radix: 16, uppercase: true)
                out += "<U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ">"
            }
        }
        return out
    }

    /// The file part of a source path, as comment text: generated files name their source without the user's
    /// folders, and the name itself cannot end or continue the comment it stands in.
    public static func fileName(_ path: String) -> String {
        comment(path.split(separator: "/").last.map(String.init) ?? path)
    }

    /// The longest identifier base `identifier` returns: derived names (`partials_NAME_backward_db12_sum`) and
    /// the shader files named after them stay far below file-name and identifier limits.
    public static let maxIdentifierBase = 40

    /// `s` as the base of identifiers that are valid in C, GLSL and Swift alike: only `[A-Za-z0-9_]`, every other
    /// character (`-` included) becomes `_`; no run of underscores (GLSL reserves `__`); no leading underscore (C
    /// reserves those at file scope) or trailing one (`NAME_out` would contain `__`); not starting with a digit
    /// or `gl_` (GLSL's); at most `maxIdentifierBase` characters. Not unique and not checked against keywords:
    /// `Symbols` does that, for the base and for every name derived from it.
    public static func identifier(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            let ok = u.isASCII && (u.properties.isAlphabetic || ("0"..."9").contains(u))
            if ok {
                out.unicodeScalars.append(u)
            } else if !out.isEmpty, out.last != "_" {
                out += "_"
            }
        }
        while out.last == "_" { out.removeLast() }
        if out.isEmpty || out.first!.isNumber || out.lowercased().hasPrefix("gl_") { out = "layer_" + out }
        if out.count > maxIdentifierBase { out = String(out.prefix(maxIdentifierBase)) }
        while out.last == "_" { out.removeLast() }
        return out
    }
}
