import Foundation

/// Keeps generated source under a line length, as a person would write it: a long statement continues on the next
/// line after a comma, semicolon or operator, indented one step deeper; a trailing comment moves above its code; a
/// long comment continues as another comment line. Shared by every printer (C, GLSL and Swift use the same `//`
/// comments, the same string quotes and allow a line break between any two tokens).
///
/// It works on UTF-8 bytes and breaks only at ASCII spaces, so a multi-byte character is never split; a line is
/// measured in bytes (at least its characters). Each break costs time proportional to the line's width, not to
/// what is left of the line, so a generated file of 100 MB with lines of a megabyte wraps in linear time.
enum LineWrap {
    static let limit = 120

    /// `text` with every line over `limit` bytes broken, where that can be done without changing what the code
    /// means. Preprocessor lines, macro continuations and lines that cannot be broken (one long string literal)
    /// stay as they are.
    static func wrap(_ text: String, limit: Int = LineWrap.limit) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 16)
        bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            var inMacro = false
            var start = 0
            while true {
                let found = memchr(base + start, Int32(newline), all.count - start)
                let end = found.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? all.count
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                let continues = line.last == backslash
                if line.count <= limit || inMacro || continues || line.first(where: { $0 != space }) == hash {
                    out.append(contentsOf: line)
                } else {
                    wrapLine(Array(line), limit: limit, into: &out)
                }
                inMacro = continues
                guard end < all.count else { break }
                out.append(newline)
                start = end + 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let newline = UInt8(ascii: "\n"), space = UInt8(ascii: " "), backslash = UInt8(ascii: "\\")
    private static let hash = UInt8(ascii: "#"), slash = UInt8(ascii: "/"), star = UInt8(ascii: "*")
    private static let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'")

    private static func wrapLine(_ line: [UInt8], limit: Int, into out: inout [UInt8]) {
        let indent = line.prefix { $0 == space }.count
        if line.count >= indent + 2 && line[indent] == slash && line[indent + 1] == slash {
            wrapComment(line, indent: indent, body: indent, limit: limit, into: &out)
            return
        }
        guard let comment = trailingComment(line) else {
            wrapCode(line, indent: indent, end: line.count, limit: limit, into: &out)
            return
        }
        wrapComment(line, indent: indent, body: comment, limit: limit, into: &out)
        out.append(newline)
        var end = comment
        while end > indent && line[end - 1] == space { end -= 1 }
        wrapCode(line, indent: indent, end: end, limit: limit, into: &out)
    }

    /// The comment `line[body...]` at `indent`, broken at spaces with its text kept as written (aligned columns
    /// stay aligned); continuation lines keep the comment's own indentation plus four. A doc comment (`///`)
    /// continues as one: `///` and its text's indentation, as prose wraps.
    private static func wrapComment(_ line: [UInt8], indent: Int, body: Int, limit: Int, into out: inout [UInt8]) {
        let slashes = line[body...].prefix { $0 == slash }.count
        let inner = line[(body + slashes)...].prefix { $0 == space }.count
        let lead = [UInt8](repeating: space, count: indent) + [UInt8](repeating: slash, count: slashes)
        let more = lead + [UInt8](repeating: space, count: max(inner, 1) + (slashes > 2 ? 0 : 4))
        // The first line: the indentation, then the comment as written.
        var prefix = lead + line[(body + slashes)..<(body + slashes + inner)]
        var at = body + slashes + inner
        while true {
            let room = limit - prefix.count
            if line.count - at <= room { break }
            var cut: Int?
            var i = min(line.count - 1, at + room)
            while i > at { if line[i] == space { cut = i; break }; i -= 1 }
            guard var end = cut else { break }
            let next = end
            while end > at && line[end - 1] == space { end -= 1 }
            out += prefix
            out += line[at..<end]
            out.append(newline)
            at = next
            while at < line.count && line[at] == space { at += 1 }
            prefix = more
        }
        out += prefix
        out += line[at...]
    }

    /// Code `line[indent..<end]` broken after the last `, ` `; ` `&& ` `|| ` ` + ` ` ? ` ` : ` that fits, outside
    /// string literals; continuation lines are indented eight more. A piece with no such place stays long.
    private static func wrapCode(_ line: [UInt8], indent: Int, end: Int, limit: Int, into out: inout [UInt8]) {
        var at = indent
        var prefix = [UInt8](repeating: space, count: indent)
        var inString: UInt8?  // the quote of a literal that runs on past the last break
        while prefix.count + (end - at) > limit {
            guard let (cut, state) = breakPoint(line, from: at, end: end, room: limit - prefix.count, quote: inString)
            else { break }
            var last = cut
            while last > at && line[last - 1] == space { last -= 1 }
            out += prefix
            out += line[at..<last]
            out.append(newline)
            at = cut
            while at < end && line[at] == space { at += 1 }
            inString = state
            prefix = [UInt8](repeating: space, count: indent + 8)
        }
        out += prefix
        out += line[at..<end]
    }

    /// The index just after the last break opportunity within `room` bytes of `from`, outside string and
    /// character literals, and the literal state there. Scans no further than `room` plus the literal it is in.
    private static func breakPoint(_ s: [UInt8], from: Int, end: Int, room: Int, quote start: UInt8?)
        -> (Int, UInt8?)? {
        var best: (Int, UInt8?)?
        var quote = start
        var i = from
        let limit = min(end, from + room)
        while i < limit {
            let ch = s[i]
            if let q = quote {
                if ch == backslash { i += 2; continue }
                if ch == q { quote = nil }
            } else if ch == quote_ || ch == apostrophe {
                quote = ch
            } else if i + 1 < end, s[i + 1] == space, i + 1 - from <= room, i > from {
                let before = s[i - 1]
                switch ch {
                case UInt8(ascii: ","), UInt8(ascii: ";"): best = (i + 1, nil)
                case UInt8(ascii: "&"), UInt8(ascii: "|"): if before == ch { best = (i + 1, nil) }
                case UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: ":"): if before == space { best = (i + 1, nil) }
                default: break
                }
            }
            i += 1
        }
        // A break that leaves almost nothing on the line reads worse than a long line.
        guard let b = best, b.0 - from > 20 else { return nil }
        return b
    }
    private static let quote_ = quote

    /// Where a `//` comment starts after code on the same line, outside string literals and block comments;
    /// nil if none.
    private static func trailingComment(_ s: [UInt8]) -> Int? {
        var quote: UInt8?
        var i = 0
        while i + 1 < s.count {
            let ch = s[i]
            if let q = quote {
                if ch == backslash { i += 2; continue }
                if ch == q { quote = nil }
            } else if ch == quote_ || ch == apostrophe {
                quote = ch
            } else if ch == slash && s[i + 1] == slash {
                return s[..<i].allSatisfy { $0 == space } ? nil : i
            } else if ch == slash && s[i + 1] == star {
                // A block comment inside code (`params + 0 /* conv1.weight */`): skip to its end.
                i += 2
                while i + 1 < s.count && !(s[i] == star && s[i + 1] == slash) { i += 1 }
                i += 2
                continue
            }
            i += 1
        }
        return nil
    }
}
