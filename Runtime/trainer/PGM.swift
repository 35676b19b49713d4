// Netpbm grey images (PGM) for the predict tool: binary `P5` and plain `P2`, one image per file, maxval 1...255.
// The header (magic, width, height, maxval, separated by whitespace and `#` comments) is checked before any pixel is
// read: its numbers are bounded, the size must be the network's, and the file must hold exactly the pixels the
// header promises (a shorter or longer file is an error). Values are scaled to 0...255 (as libpng widens low bit
// depths) and returned as opaque grey RGBA, so they meet the network's channels as a grey PNG does (PNGFolder.swift).

/// Whether `name` looks like a PGM image's file name.
func isPGMName(_ name: String) -> Bool { name.lowercased().hasSuffix(".pgm") }

/// Decodes the PGM `bytes` (from `path`) to 8-bit RGBA, which must be `width` x `height`.
func decodePGM(_ bytes: [UInt8], path: String, width: Int, height: Int) throws -> [UInt8] {
    var reader = PGMReader(bytes: bytes, path: path)
    guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2") else {
        throw reader.fail("not a PGM image (expected P5 or P2 at its start)")
    }
    let plain = bytes[1] == UInt8(ascii: "2")
    reader.position = 2
    let w = try reader.headerNumber("width"), h = try reader.headerNumber("height")
    let maxval = try reader.headerNumber("maxval")
    guard w >= 1, h >= 1 else { throw reader.fail("image is \(w)x\(h); width and height must be at least 1") }
    guard maxval >= 1, maxval <= 255 else {
        throw reader.fail("maxval \(maxval): only 1...255 (8-bit PGM) is supported")
    }
    guard w == width, h == height else {
        throw reader.fail("image is \(w)x\(h) but the network expects \(width)x\(height); resize it first (cnnc never resizes)")
    }
    let (pixels, overflow) = w.multipliedReportingOverflow(by: h)
    guard !overflow else { throw reader.fail("image is \(w)x\(h), too large") }
    var values = [UInt8](repeating: 0, count: pixels)
    if plain {
        for i in 0..<pixels {
            guard let v = try reader.rasterNumber() else {
                throw reader.fail("truncated: the header promises \(w)x\(h) values but the file holds \(i)")
            }
            guard v <= maxval else { throw reader.fail("value \(v) exceeds the maxval \(maxval)") }
            values[i] = UInt8(v)
        }
        reader.skipWhitespace()
        guard reader.position == bytes.count else {
            throw reader.fail("unexpected bytes after the \(w)x\(h) values its header promises")
        }
    } else {
        // Exactly one whitespace byte ends the header (the number reader stopped at it).
        reader.position += 1
        let left = bytes.count - min(reader.position, bytes.count)
        guard left >= pixels else {
            throw reader.fail("truncated: the header promises \(w)x\(h) bytes (\(pixels)) but the file holds \(left)")
        }
        guard left == pixels else { throw reader.fail("unexpected bytes after the \(w)x\(h) image its header promises") }
        for i in 0..<pixels {
            let v = Int(bytes[reader.position + i])
            guard v <= maxval else { throw reader.fail("value \(v) exceeds the maxval \(maxval)") }
            values[i] = UInt8(v)
        }
    }
    var rgba = [UInt8](repeating: 255, count: pixels * 4)
    for (i, v) in values.enumerated() {
        let grey = UInt8((Int(v) * 255 + maxval / 2) / maxval)
        rgba[4 * i] = grey
        rgba[4 * i + 1] = grey
        rgba[4 * i + 2] = grey
    }
    return rgba
}

/// The tokens of a PGM file: decimal numbers of at most 7 digits, separated by whitespace (and, in the header,
/// comments from `#` to the end of the line).
private struct PGMReader {
    let bytes: [UInt8]
    let path: String
    var position = 0

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    func fail(_ message: String) -> RuntimeError { RuntimeError("\(path): \(message)") }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    mutating func skipWhitespace(comments: Bool = false) {
        while position < bytes.count {
            if Self.isSpace(bytes[position]) {
                position += 1
            } else if comments && bytes[position] == UInt8(ascii: "#") {
                while position < bytes.count && bytes[position] != 0x0A && bytes[position] != 0x0D { position += 1 }
            } else {
                return
            }
        }
    }

    /// The next number, or nil at the end of the file; `what` names it in errors.
    mutating func number(_ what: String) throws -> Int? {
        guard position < bytes.count else { return nil }
        var value = 0, digits = 0
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            digits += 1
            guard digits <= 7 else { throw fail("malformed header: \(what) has more than 7 digits") }
            value = value * 10 + Int(bytes[position] - 0x30)
            position += 1
        }
        guard digits > 0 else {
            throw fail("malformed header: expected the \(what) as a decimal number at byte \(position)")
        }
        if position < bytes.count, !Self.isSpace(bytes[position]) {
            let place = what == "value" ? "" : "malformed header: "
            throw fail("\(place)the \(what) is followed by byte \(bytes[position]) at offset \(position), not whitespace")
        }
        return value
    }

    /// A header field: whitespace and comments, then the number, which must be there and end in whitespace.
    mutating func headerNumber(_ what: String) throws -> Int {
        let before = position
        skipWhitespace(comments: true)
        guard position > before else { throw fail("malformed header: expected whitespace before the \(what)") }
        guard let n = try number(what) else { throw fail("malformed header: the file ends before the \(what)") }
        guard position < bytes.count else { throw fail("malformed header: the file ends after the \(what)") }
        return n
    }

    /// A value of a plain (P2) raster, or nil when the file ends first.
    mutating func rasterNumber() throws -> Int? {
        skipWhitespace()
        return try number("value")
    }
}
