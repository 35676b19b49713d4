import Testing
@testable import CNNC

/// FuzzRandom: a tiny deterministic generator, so that every run fuzzes the same inputs.
struct FuzzRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}

/// Random and mutated sources: the parser must return or throw a `Diagnostic` that points inside the input.
@Suite struct ParserFuzzTests {
    static let seeds: [String] = [
        ParserTests.mnist002,
        ParserTests.small,
        """
        net all-the_things
        input 32x32x3 # rgb
        scale .5
        train epochs=0 batch=1 lr=1e-3 momentum=0 seed=18446744073709551615
        conv 8 5 stride=2x1 pad=same bias=element tanh name=c1
        avgpool 2 stride=1 pad=valid
        bias channel name=b
        sigmoid
        dense 10 bias=none relu
        softmax name=out
        """.replacing("\n", with: "\r\n"),
    ]

    /// Words and bytes that make mutations reach deeper than random noise does.
    static let dictionary: [String] = [
        "net", "input", "scale", "conv", "dense", "bias", "relu", "sigmoid", "tanh", "maxpool", "avgpool",
        "flatten", "softmax", "train", "stride=", "pad=", "bias=", "name=", "epochs=", "batch=", "lr=",
        "momentum=", "seed=", "same", "valid", "element", "channel", "none", "3x3", "x", "=", "#", "/", "1/0",
        "0", "1e999", "99999999999999999999999", "1000001", " ", "\t", "\n", "\r", "\r\n", "é", "\u{A0}", "\0",
    ]
    static let interestingBytes: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x23, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x33,
                                            0x3D, 0x78, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xEF, 0xF4, 0xFF]

    static func randomByte(_ g: inout FuzzRandom) -> UInt8 {
        switch g.below(3) {
        case 0: return interestingBytes[g.below(interestingBytes.count)]
        case 1: return UInt8(0x20 + g.below(0x5F))
        default: return UInt8(truncatingIfNeeded: g.next())
        }
    }

    static func lineRanges(_ b: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for (i, byte) in b.enumerated() where byte == 0x0A {
            ranges.append(start..<(i + 1))
            start = i + 1
        }
        if start < b.count { ranges.append(start..<b.count) }
        return ranges
    }

    static func mutate(_ b: inout [UInt8], _ g: inout FuzzRandom) {
        let at = g.below(b.count + 1)
        switch g.below(9) {
        case 0 where !b.isEmpty:  // flip a bit
            let i = g.below(b.count)
            b[i] ^= UInt8(1) << UInt8(g.below(8))
        case 1 where !b.isEmpty:  // replace a byte
            b[g.below(b.count)] = randomByte(&g)
        case 2:  // insert bytes
            b.insert(contentsOf: (0..<1 + g.below(4)).map { _ in randomByte(&g) }, at: at)
        case 3:  // delete a run
            b.removeSubrange(at..<min(b.count, at + 1 + g.below(8)))
        case 4, 5:  // duplicate, delete or move a line
            let lines = lineRanges(b)
            guard !lines.isEmpty else { return }
            let line = Array(b[lines[g.below(lines.count)]])
            let target = lines[g.below(lines.count)]
            switch g.below(3) {
            case 0: b.insert(contentsOf: line, at: target.lowerBound)
            case 1: b.removeSubrange(target)
            default: b.replaceSubrange(target, with: line)
            }
        case 6:  // splice with another seed
            let other = Array(seeds[g.below(seeds.count)].utf8)
            let cut = g.below(other.count + 1)
            b = Array(b[..<at]) + other[cut...]
        case 7:  // insert a dictionary word
            b.insert(contentsOf: Array(dictionary[g.below(dictionary.count)].utf8), at: at)
        default:  // repeat digits: huge numbers
            b.insert(contentsOf: [UInt8](repeating: UInt8(0x30 + g.below(10)), count: 1 + g.below(30)), at: at)
        }
    }

    /// The lines of `bytes` as the parser sees them (LF, CRLF, lone CR; invalid UTF-8 replaced).
    static func expectedLines(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A || bytes[i] == 0x0D {
                lines.append(String(decoding: bytes[start..<i], as: UTF8.self))
                if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < bytes.count { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
        if let first = lines.first, first.unicodeScalars.first == "\u{FEFF}" {
            lines[0] = String(first.unicodeScalars.dropFirst())
        }
        return lines
    }

    /// Parses and checks the outcome; returns whether it parsed.
    @discardableResult
    static func check(_ bytes: [UInt8]) -> Bool {
        let lines = expectedLines(bytes)
        func inside(_ loc: CNNC.SourceLocation, length: Int = 1) -> Bool {
            guard loc.file == "fuzz.cnn", loc.line >= 1, loc.line <= max(1, lines.count), loc.column >= 1 else {
                return false
            }
            let text = loc.line <= lines.count ? lines[loc.line - 1] : ""
            return loc.column <= text.count + 1
        }
        let outcome: Result<SyntaxTree, Diagnostic>
        do {
            outcome = .success(try Parser.parse(bytes: bytes, file: "fuzz.cnn"))
        } catch let d as Diagnostic {
            outcome = .failure(d)
        } catch {
            Issue.record("threw \(error) for \(bytes)")
            return false
        }
        // Valid UTF-8 text parses the same way from a String.
        let text = String(decoding: bytes, as: UTF8.self)
        if Array(text.utf8) == bytes {
            do {
                #expect(outcome == .success(try Parser.parse(text, file: "fuzz.cnn")), "bytes: \(bytes)")
            } catch let d as Diagnostic {
                #expect(outcome == .failure(d), "bytes: \(bytes)")
            } catch {
                Issue.record("threw \(error) for \(bytes)")
            }
        }
        switch outcome {
        case .failure(let d):
            #expect(inside(d.location), "\(d) for bytes \(bytes)")
            let text = d.location.line <= lines.count ? lines[d.location.line - 1] : ""
            #expect(d.lineText == text, "\(d) for bytes \(bytes)")
            #expect(d.length >= 1 && !d.message.isEmpty && !d.message.contains("\n"))
            return false
        case .success(let tree):
            #expect(tree.lines == lines)
            #expect(inside(tree.inputLocation))
            for layer in tree.layers {
                #expect(inside(layer.location))
                if let k = layer.kernelLocation { #expect(inside(k)) }
            }
            return true
        }
    }

    @Test func mutatedSources() {
        var g = FuzzRandom(seed: 0xC0FFEE)
        var parsed = 0
        let count = 6000
        for i in 0..<count {
            var bytes = Array(Self.seeds[i % Self.seeds.count].utf8)
            for _ in 0..<(1 + g.below(4)) { Self.mutate(&bytes, &g) }
            if Self.check(bytes) { parsed += 1 }
        }
        // Some mutations (e.g. inside comments) keep the source valid; most do not.
        #expect(parsed > count / 50)
        #expect(parsed < count / 2)
    }

    @Test func randomBytes() {
        var g = FuzzRandom(seed: 42)
        for _ in 0..<3000 {
            let bytes = (0..<g.below(120)).map { _ in Self.randomByte(&g) }
            Self.check(bytes)
        }
    }

    @Test func randomWordSoup() {
        var g = FuzzRandom(seed: 7)
        var parsed = 0
        for _ in 0..<2000 {
            var text = "input 8x8x2\n"
            for _ in 0..<g.below(12) {
                let word = Self.dictionary[g.below(Self.dictionary.count)]
                text += word + (g.below(3) == 0 ? "\n" : (g.below(2) == 0 ? " " : ""))
            }
            if Self.check(Array(text.utf8)) { parsed += 1 }
        }
        #expect(parsed > 0)
    }

    /// Sizes at, around and far past the limits, through the whole front end (parse, shapes, plan): each net
    /// compiles or fails with a diagnostic inside the source, never an overflow trap.
    @Test func hugeSizesThroughShapeInference() {
        let sizes = ["1", "3", "1000", "65536", "999999", "1000000", "1000001", "4294967297",
                     "99999999999999999999"]
        var g = FuzzRandom(seed: 99)
        var compiled = 0
        for _ in 0..<400 {
            func size() -> String { sizes[g.below(sizes.count)] }
            var text = "input \(size())x\(size())x\(size())\n"
            for _ in 0..<1 + g.below(4) {
                switch g.below(4) {
                case 0: text += "conv \(size()) \(size())x\(size()) stride=\(size()) pad=\(g.below(2) == 0 ? "same" : size())\n"
                case 1: text += "maxpool \(size())x\(size())\n"
                case 2: text += "flatten\ndense \(size())\n"
                default: text += "bias element\n"
                }
            }
            text += "softmax\n"
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            do {
                let c = try Compilation(source: Array(text.utf8), file: "fuzz.cnn")
                _ = ReportRenderer.render(c, format: .json, batch: Limits.maxBatch)
                compiled += 1
            } catch let d as Diagnostic {
                #expect(d.location.line >= 1 && d.location.line <= lines.count, "\(d)")
                #expect(d.lineText == String(lines[d.location.line - 1]), "\(d)")
            } catch {
                Issue.record("threw \(error) for \(text)")
            }
        }
        #expect(compiled > 0)
    }

    @Test func largeInputs() {
        let long = String(repeating: "9", count: 100_000)
        Self.check(Array("input 8x8\nconv \(long) 3x3\n".utf8))
        Self.check(Array("input \(long)\n".utf8))
        Self.check(Array(String(repeating: "a", count: 100_000).utf8))
        let many = "input 8x8\n" + String(repeating: "relu\n", count: 20_000) + "softmax\n"
        #expect(Self.check(Array(many.utf8)))
        #expect(throws: Never.self) { try Compilation(source: Array(many.utf8), file: "fuzz.cnn") }
        let tooMany = "input 8x8\n" + String(repeating: "conv 1 1x1\n", count: Limits.maxLayers + 1)
        #expect(throws: Diagnostic.self) { try Compilation(source: Array(tooMany.utf8), file: "fuzz.cnn") }
        Self.check(Array(String(repeating: "\r", count: 50_000).utf8) + [0xFF])
        Self.check([UInt8](repeating: 0xE2, count: 10_000))
    }
}
