/// A word of a statement: a maximal run of printable ASCII characters other than space, tab and `#`.
struct Word: Sendable, Equatable {
    var text: String
    /// 1-based character column of the first character.
    var column: Int

    /// Characters in the word (words are ASCII, so bytes and characters agree).
    var length: Int { text.utf8.count }
    /// The column just past the word.
    var end: Int { column + length }

    /// The word quoted for a message, shortened when very long.
    var quoted: String {
        length <= 40 ? "'\(text)'" : "'\(text.prefix(37))...'"
    }
}

/// One source line and the file it belongs to: makes diagnostics that point into the line.
struct LineContext: Sendable {
    let file: String
    /// 1-based line number.
    let line: Int
    /// The line without its line ending.
    let text: String

    func location(_ column: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    func error(_ message: String, column: Int, length: Int = 1, hint: String? = nil) -> Diagnostic {
        Diagnostic(message, at: location(column), lineText: text, length: length, hint: hint)
    }

    func error(_ message: String, at word: Word, hint: String? = nil) -> Diagnostic {
        error(message, column: word.column, length: word.length, hint: hint)
    }

    /// Splits the line into words, dropping a `#` comment. Statements are plain ASCII: any other
    /// character outside a comment is an error at its column.
    func words() throws -> [Word] {
        var words: [Word] = []
        var current = ""
        var start = 0
        var column = 0
        for ch in text {
            column += 1
            if ch == "#" { break }
            if ch == " " || ch == "\t" {
                if !current.isEmpty { words.append(Word(text: current, column: start)); current = "" }
                continue
            }
            guard let ascii = ch.asciiValue, ascii > 0x20, ascii < 0x7F else {
                throw badCharacter(ch, column: column)
            }
            if current.isEmpty { start = column }
            current.append(ch)
        }
        if !current.isEmpty { words.append(Word(text: current, column: start)) }
        return words
    }

    private func badCharacter(_ ch: Character, column: Int) -> Diagnostic {
        let scalar = ch.unicodeScalars.first { $0.value < 0x20 || $0.value > 0x7E } ?? ch.unicodeScalars.first!
        let code = Lexer.codePoint(scalar)
        if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
            return error("unexpected control character \(code)", column: column,
                         hint: "only spaces and tabs may separate words")
        }
        let spaceLike = scalar.properties.isWhitespace || scalar.value == 0xFEFF || scalar.value == 0x200B
        return error("unexpected character \(code) outside a comment", column: column,
                     hint: spaceLike ? "only spaces and tabs may separate words"
                                     : "statements are plain ASCII; other text may appear only in comments")
    }
}

/// Splitting source text into lines, and the checks on raw text that come before any statement.
enum Lexer {
    /// `U+00E9` style.
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The lines of `source` without their endings (LF, CRLF or a lone CR). A final line ending adds no empty
    /// line; a UTF-8 byte order mark at the start is dropped.
    static func lines(_ source: String) -> [String] {
        let scalars = source.unicodeScalars
        var lines: [String] = []
        var start = scalars.startIndex
        var i = start
        while i != scalars.endIndex {
            let c = scalars[i]
            guard c == "\n" || c == "\r" else { i = scalars.index(after: i); continue }
            lines.append(String(scalars[start..<i]))
            var next = scalars.index(after: i)
            if c == "\r", next != scalars.endIndex, scalars[next] == "\n" { next = scalars.index(after: next) }
            start = next
            i = next
        }
        if start != scalars.endIndex { lines.append(String(scalars[start...])) }
        if let first = lines.first, first.unicodeScalars.first == "\u{FEFF}" {
            lines[0] = String(first.unicodeScalars.dropFirst())
        }
        return lines
    }

    /// Throws at the first NUL character: a .cnn file is text.
    static func checkNUL(_ lines: [String], file: String) throws {
        for (index, text) in lines.enumerated() {
            guard let nul = text.firstIndex(of: "\0") else { continue }
            let column = text.distance(from: text.startIndex, to: nul) + 1
            throw LineContext(file: file, line: index + 1, text: text)
                .error("unexpected NUL byte", column: column,
                       hint: "this looks like a binary file, not .cnn source text")
        }
    }

    /// The first word of a line, loosely (no checks): used to look ahead for an `input` statement.
    static func firstWord(_ text: String) -> Substring? {
        let trimmed = text.drop { $0 == " " || $0 == "\t" }
        let word = trimmed.prefix { $0 != " " && $0 != "\t" && $0 != "#" }
        return word.isEmpty ? nil : word
    }

    /// Throws at the first byte that is not valid UTF-8, with its line and character column.
    static func checkUTF8(_ bytes: [UInt8], file: String) throws {
        var line = 1
        var lineStart = 0
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0x0A || b == 0x0D {
                    if b == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
                    line += 1
                    lineStart = i + 1
                }
                i += 1
                continue
            }
            let need: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; high = 0x9F
            case 0xF0: need = 3; low = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; high = 0x8F
            default:
                throw utf8Error("invalid UTF-8 byte \(hex(b))", file: file, bytes: bytes, at: i,
                                line: line, lineStart: lineStart)
            }
            for k in 1...need {
                let j = i + k
                let range = k == 1 ? low...high : 0x80...0xBF
                guard j < bytes.count, range.contains(bytes[j]) else {
                    throw utf8Error("invalid UTF-8 sequence starting with byte \(hex(b))", file: file,
                                    bytes: bytes, at: i, line: line, lineStart: lineStart)
                }
            }
            i += need + 1
        }
    }

    private static func hex(_ b: UInt8) -> String {
        let h = String(b, radix: 16, uppercase: true)
        return "0x" + (h.count < 2 ? "0" : "") + h
    }

    private static func utf8Error(_ message: String, file: String, bytes: [UInt8], at offset: Int, line: Int,
                                  lineStart: Int) -> Diagnostic {
        var start = lineStart
        if line == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = min(3, offset) }
        var end = offset
        while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
        let column = String(decoding: bytes[start..<offset], as: UTF8.self).count + 1
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        return LineContext(file: file, line: line, text: text)
            .error(message, column: column, hint: ".cnn files must be UTF-8 text")
    }
}

/// Scanning of numbers and names; nothing here throws.
enum Scan {
    /// The largest size (count, kernel, stride, shape dimension, padding, epochs) the language accepts.
    static let maxSize = Limits.maxNumber

    enum Digits: Equatable { case value(UInt64), overflow, invalid }

    /// A non-empty run of ASCII digits (no sign), as an unsigned 64-bit value.
    static func digits<S: StringProtocol>(_ s: S) -> Digits {
        guard !s.isEmpty else { return .invalid }
        var value: UInt64 = 0
        var overflow = false
        for b in s.utf8 {
            guard b >= 0x30, b <= 0x39 else { return .invalid }
            if overflow { continue }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
            if o1 || o2 { overflow = true } else { value = a }
        }
        return overflow ? .overflow : .value(value)
    }

    /// A decimal written `2`, `0.5`, `.5`, `5.`, `1e-3`, with an optional leading `-`. Nil when it is not one;
    /// values out of range come back infinite or zero.
    static func decimal<S: StringProtocol>(_ s: S) -> Double? {
        let u = Array(s.utf8)
        func isDigit(_ i: Int) -> Bool { i < u.count && u[i] >= 0x30 && u[i] <= 0x39 }
        var i = 0
        if i < u.count, u[i] == UInt8(ascii: "-") { i += 1 }
        var mantissa = 0
        while isDigit(i) { i += 1; mantissa += 1 }
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            while isDigit(i) { i += 1; mantissa += 1 }
        }
        guard mantissa > 0 else { return nil }
        if i < u.count, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i += 1
            if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") { i += 1 }
            var exponent = 0
            while isDigit(i) { i += 1; exponent += 1 }
            guard exponent > 0 else { return nil }
        }
        guard i == u.count else { return nil }
        return Double(String(s)) ?? .infinity
    }

    /// `[A-Za-z_][A-Za-z0-9_-]*`
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return s.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_")
            || $0 == UInt8(ascii: "-") }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

    /// Levenshtein distance between two short strings.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }

    /// The candidate closest to `word` (ignoring case), if it is close enough to be a likely typo.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        guard word.utf8.count <= 32 else { return nil }
        let lower = word.lowercased()
        var best: (String, Int)?
        for c in candidates {
            let d = editDistance(lower, c)
            if d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        guard let (candidate, distance) = best else { return nil }
        return distance <= min(2, max(1, word.utf8.count / 2)) ? candidate : nil
    }
}
