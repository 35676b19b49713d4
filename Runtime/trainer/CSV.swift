// CSV data (UCI optdigits layout): one sample per line, the input values in H,W,C order, the label last.
// Blank lines are skipped, and so is a first line with no numeric field (a header). Optionally gzip-compressed.
// Read as a stream with a bounded line length, so no file (or device) is ever read whole.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let asciiComma = UInt8(ascii: ","), asciiNewline = UInt8(ascii: "\n"), asciiReturn = UInt8(ascii: "\r")
private let asciiSpace = UInt8(ascii: " "), asciiTab = UInt8(ascii: "\t")
private let asciiZero = UInt8(ascii: "0"), asciiNine = UInt8(ascii: "9"), asciiDot = UInt8(ascii: ".")
private let asciiPlus = UInt8(ascii: "+"), asciiMinus = UInt8(ascii: "-")
private let mantissaLimit: UInt64 = 1_000_000_000_000_000  // more digits than this are rounded by the library
private let exactPowersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { value, _ in value * 10 } }

/// Parses a decimal number (`-12`, `0.5`, `3e-2`) filling `p[start..<end]`; nil when it is not one.
func parseDecimal(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
    guard let (value, stop) = scanDecimal(p, start, end), stop == end else { return nil }
    return value
}

/// Parses the longest decimal number at the start of `p[start..<end]`: its value and where it stops.
/// Integers and short decimals are converted exactly here; anything longer goes through the standard library.
@inline(__always)
func scanDecimal(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> (Double, Int)? {
    var i = start
    var negative = false
    if i < end && (p[i] == asciiPlus || p[i] == asciiMinus) { negative = p[i] == asciiMinus; i += 1 }
    var mantissa: UInt64 = 0
    var digits = 0, scale = 0
    var exact = true
    while i < end, p[i] >= asciiZero, p[i] <= asciiNine {
        if mantissa < mantissaLimit {
            mantissa = mantissa * 10 + UInt64(p[i] - asciiZero)
        } else {
            scale += 1
            exact = false
        }
        digits += 1; i += 1
    }
    if i < end && p[i] == asciiDot {
        i += 1
        while i < end, p[i] >= asciiZero, p[i] <= asciiNine {
            if mantissa < mantissaLimit {
                mantissa = mantissa * 10 + UInt64(p[i] - asciiZero)
                scale -= 1
            } else {
                exact = false
            }
            digits += 1; i += 1
        }
    }
    guard digits > 0 else { return nil }
    if i < end && (p[i] | 0x20) == UInt8(ascii: "e") {
        var j = i + 1
        var exponentNegative = false
        if j < end && (p[j] == asciiPlus || p[j] == asciiMinus) { exponentNegative = p[j] == asciiMinus; j += 1 }
        var exponent = 0, exponentDigits = 0
        while j < end, p[j] >= asciiZero, p[j] <= asciiNine {
            if exponent < 100_000 { exponent = exponent * 10 + Int(p[j] - asciiZero) }
            exponentDigits += 1; j += 1
        }
        if exponentDigits > 0 {  // otherwise the number ends before the `e`
            scale += exponentNegative ? -exponent : exponent
            i = j
        }
    }
    if exact && scale == 0 && mantissa < (1 << 53) {  // the common case: an integer
        let magnitude = Double(mantissa)
        return (negative ? -magnitude : magnitude, i)
    }
    if exact && mantissa < (1 << 53) && abs(scale) <= 22 {
        let magnitude = scale >= 0 ? Double(mantissa) * exactPowersOfTen[scale] : Double(mantissa) / exactPowersOfTen[-scale]
        return (negative ? -magnitude : magnitude, i)
    }
    let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
    guard let value = Double(text) else { return nil }
    return (value, i)
}

/// The field text for an error message (shortened, printable).
private func quoteField(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> String {
    let text = String(decoding: UnsafeBufferPointer(start: p + start, count: min(end - start, 40)), as: UTF8.self)
    let printable = String(text.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? "?" : Character($0) })
    return "\"" + printable + (end - start > 40 ? "...\"" : "\"")
}

/// Field bounds without surrounding blanks.
@inline(__always)
private func trimmed(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> (Int, Int) {
    var s = start, e = end
    while s < e && (p[s] == asciiSpace || p[s] == asciiTab) { s += 1 }
    while e > s && (p[e - 1] == asciiSpace || p[e - 1] == asciiTab) { e -= 1 }
    return (s, e)
}

/// Input values larger than this in magnitude are refused: they are no pixel or feature value, and a few of them
/// overflow the network's float arithmetic to inf or NaN (a value of 3e38 trains to a NaN loss).
let maximumInputMagnitude = 1e6

/// The longest CSV line accepted: 64 bytes per field plus 1 KiB. A CSV has no header declaring its size, so
/// this (with `--limit` and the memory budget) is what bounds reading one; /dev/zero fails at the first line.
func maximumCSVLineBytes(sampleSize: Int) -> Int { saturatingSum([saturatingProduct(sampleSize + 1, 64), 1024]) }

/// Reads a CSV data set as a stream, a line at a time, checking each row's value count, values and label
/// against `layout`. Stops after `limit` rows when given; the values may take `budget` bytes.
func readCSV(_ path: String, layout: SampleLayout, limit: Int?, budget: Int) throws -> (values: [Float], labels: [Int32]) {
    let source = try DataSource(path: path)
    let maxLine = maximumCSVLineBytes(sampleSize: layout.sampleSize)
    let capacity = saturatingSum([maxLine, 1 << 20])
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    defer { buffer.deallocate() }
    var parser = CSVRowParser(path: path, layout: layout)
    var start = 0, end = 0
    var ended = false
    var first = true
    while !ended {
        if start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        let got = try source.read(into: buffer + end, count: capacity - end)
        if got == 0 { ended = true }
        end += got
        if first && end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { start = 3 }  // UTF-8 BOM
        first = false
        while start < end {
            var lineEnd = end
            if let found = memchr(buffer + start, Int32(asciiNewline), end - start) {
                lineEnd = UnsafeRawPointer(buffer).distance(to: found)
            } else if !ended {
                guard end - start <= maxLine else {
                    throw RuntimeError("\(path):\(parser.line + 1): line longer than \(maxLine) bytes "
                        + "(\(layout.sampleSize + 1) fields of at most 64 bytes each)")
                }
                break  // read more of the line
            }
            guard lineEnd - start <= maxLine else {
                throw RuntimeError("\(path):\(parser.line + 1): line longer than \(maxLine) bytes "
                    + "(\(layout.sampleSize + 1) fields of at most 64 bytes each)")
            }
            try parser.parseLine(buffer, start, lineEnd)
            start = lineEnd + 1
            if let limit, parser.labels.count >= limit { ended = true; break }
        }
        if start > end { start = end }
        try checkMemory(need: saturatingProduct(parser.values.count, 4), available: budget,
                        what: "\(path): \(parser.labels.count) samples", hint: "use fewer with --limit")
    }
    guard !parser.labels.isEmpty else { throw RuntimeError("\(path): empty data set (no rows)") }
    return (parser.values, parser.labels)
}

/// The rows read so far and the line number; `parseLine` adds one line.
private struct CSVRowParser {
    let path: String
    let layout: SampleLayout
    var values: [Float] = []
    var labels: [Int32] = []
    var line = 0
    private var sawRow = false

    init(path: String, layout: SampleLayout) {
        self.path = path
        self.layout = layout
    }

    mutating func parseLine(_ p: UnsafePointer<UInt8>, _ pos: Int, _ newline: Int) throws {
        line += 1
        var end = newline
        if end > pos && p[end - 1] == asciiReturn { end -= 1 }
        let (lineStart, lineEnd) = trimmed(p, pos, end)
        if lineStart == lineEnd { return }  // blank line
        if !sawRow {
            sawRow = true
            if isHeader(p, lineStart, lineEnd) { return }
        }
        let size = layout.sampleSize
        let rowStart = values.count
        // One pass over the fields: number, blanks, then a comma or the end of the line.
        var i = lineStart
        var field = 0
        while true {
            while i < lineEnd && (p[i] == asciiSpace || p[i] == asciiTab) { i += 1 }
            guard let (value, stop) = scanDecimal(p, i, lineEnd) else {
                throw fieldError(p, path: path, line: line, field: field, from: i, lineEnd: lineEnd)
            }
            var after = stop
            while after < lineEnd && (p[after] == asciiSpace || p[after] == asciiTab) { after += 1 }
            guard after == lineEnd || p[after] == asciiComma else {
                throw fieldError(p, path: path, line: line, field: field, from: i, lineEnd: lineEnd)
            }
            if field < size {
                guard abs(value) <= maximumInputMagnitude else {
                    throw RuntimeError("\(path):\(line): field \(field + 1) \(quoteField(p, i, stop)) is out of range "
                        + "(input values must lie within +-\(Int(maximumInputMagnitude)))")
                }
                values.append(Float(value))
            } else {
                guard field == size, after == lineEnd else { break }  // too many fields: reported below
                guard value == value.rounded() else {
                    throw RuntimeError("\(path):\(line): label \(quoteField(p, i, stop)) is not a whole number")
                }
                guard value >= 0, value < Double(layout.classes) else {
                    throw RuntimeError("\(path):\(line): label \(quoteField(p, i, stop)) is outside 0..<\(layout.classes)")
                }
                labels.append(Int32(value))
            }
            field += 1
            if after == lineEnd { break }
            i = after + 1
        }
        guard field == size + 1 else {
            values.removeSubrange(rowStart...)
            var commas = 0
            for j in lineStart..<lineEnd where p[j] == asciiComma { commas += 1 }
            throw RuntimeError("\(path):\(line): \(commas) value\(commas == 1 ? "" : "s") before the label, "
                + "but the network \(layout.network) expects \(layout.inputDescription) then the label (\(size + 1) fields)")
        }
    }
}

/// The error for a field (numbered from 0) that is empty or not a number.
private func fieldError(_ p: UnsafePointer<UInt8>, path: String, line: Int, field: Int, from: Int,
                        lineEnd: Int) -> RuntimeError {
    var end = from
    while end < lineEnd && p[end] != asciiComma { end += 1 }
    let (s, e) = trimmed(p, from, end)
    if s == e { return RuntimeError("\(path):\(line): field \(field + 1) is empty") }
    return RuntimeError("\(path):\(line): field \(field + 1) \(quoteField(p, s, e)) is not a number")
}

/// A line whose fields are all non-numeric (column names).
private func isHeader(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
    var fieldStart = start
    while fieldStart <= end {
        var fieldEnd = fieldStart
        while fieldEnd < end && p[fieldEnd] != asciiComma { fieldEnd += 1 }
        let (s, e) = trimmed(p, fieldStart, fieldEnd)
        if s == e || parseDecimal(p, s, e) != nil { return false }
        fieldStart = fieldEnd + 1
    }
    return true
}
