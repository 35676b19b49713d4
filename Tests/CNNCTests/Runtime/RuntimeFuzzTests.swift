import Foundation
import Testing
@testable import TrainerRuntime

/// Mutated data files against the trainer's readers (issue 9 item 7): bit flips, truncations, header fields set
/// to huge or random values, appended garbage, each plain and gzip-compressed. Every case must end in a clean
/// RuntimeError or a result within the memory budget, having read no more than the file plus a chunk.
@Suite("Trainer runtime fuzzing")
struct RuntimeFuzzTests {
    typealias F = RuntimeTestFiles
    static let cases = 2000
    static let budget = 1 << 22

    /// SplitMix64: a fixed seed, so every run tries the same files.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    /// One mutation of `base`; `headerFields` are byte offsets of 4- or 8-byte size fields worth setting to
    /// extreme values.
    static func mutate(_ base: [UInt8], headerFields: [Int], fieldWidth: Int, _ g: inout Generator) -> [UInt8] {
        var bytes = base
        switch g.below(6) {
        case 0:  // flip 1 to 8 bits
            for _ in 0...g.below(8) where !bytes.isEmpty { bytes[g.below(bytes.count)] ^= UInt8(1 << g.below(8)) }
        case 1:  // truncate
            bytes = Array(bytes.prefix(g.below(bytes.count)))
        case 2:  // a header field set to a huge, zero or random value
            let at = headerFields[g.below(headerFields.count)]
            let extremes: [UInt64] = [0, 1, 0xFFFF_FFFF, 0x7FFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 1 << 40, g.next()]
            let value = extremes[g.below(extremes.count)]
            for i in 0..<fieldWidth where at + i < bytes.count {
                let shift = fieldWidth == 4 ? UInt64(8 * (3 - i)) : UInt64(8 * i)  // IDX big-endian, safetensors little
                bytes[at + i] = UInt8(truncatingIfNeeded: value >> shift)
            }
        case 3:  // garbage appended
            bytes += (0..<1 + g.below(64)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        case 4:  // random bytes overwritten
            for _ in 0...g.below(16) where !bytes.isEmpty { bytes[g.below(bytes.count)] = UInt8(truncatingIfNeeded: g.next()) }
        default:  // a slice duplicated (repeated fields, rows, members)
            if bytes.count > 2 {
                let a = g.below(bytes.count), b = min(bytes.count, a + 1 + g.below(64))
                bytes.insert(contentsOf: bytes[a..<b], at: g.below(bytes.count))
            }
        }
        return bytes
    }

    /// Runs `read` on `count` mutations of `base` (half of them gzip-compressed before or after mutating).
    static func fuzz(_ name: String, base: [UInt8], headerFields: [Int], fieldWidth: Int, seed: UInt64,
                     read: (String) throws -> Int) throws -> (ok: Int, refused: Int) {
        let dir = try F.folder("fuzz-\(name)")
        var g = Generator(state: seed)
        var ok = 0, refused = 0
        for i in 0..<cases {
            var bytes: [UInt8]
            switch i % 3 {
            case 0: bytes = mutate(base, headerFields: headerFields, fieldWidth: fieldWidth, &g)
            case 1: bytes = F.gzip(mutate(base, headerFields: headerFields, fieldWidth: fieldWidth, &g))
            default: bytes = mutate(F.gzip(base), headerFields: [4], fieldWidth: 4, &g)  // corrupt compressed data
            }
            let path = try F.write(bytes, "case", in: dir)
            do {
                let size = try read(path)
                #expect(size <= budget, "\(name) case \(i): a result of \(size) bytes exceeds the budget")
                ok += 1
            } catch let error as RuntimeError {
                #expect(!error.message.isEmpty && !error.message.contains("\n"), "\(name) case \(i): \(error.message)")
                refused += 1
            }
        }
        return (ok, refused)
    }

    @Test("mutated IDX files")
    func idx() throws {
        let base = F.idx([8, 4, 4])
        let (ok, refused) = try Self.fuzz("idx", base: base, headerFields: [0, 4, 8, 12], fieldWidth: 4, seed: 1) { path in
            let data = try readIDX(path, what: "images", dimensionCounts: [3, 4], limit: nil, budget: Self.budget)
            #expect(data.fileBytesRead <= 2 << 16)
            return data.bytes.count
        }
        #expect(ok > 0 && refused > 0, "ok \(ok) refused \(refused)")
    }

    @Test("mutated CSV files")
    func csv() throws {
        var text = "a,b\n"
        for r in 0..<6 { text += (0..<16).map { "\(Double(r * 16 + $0) / 7)" }.joined(separator: ",") + ",\(r % 3)\n" }
        let (ok, refused) = try Self.fuzz("csv", base: Array(text.utf8), headerFields: [4, 20, 60], fieldWidth: 4, seed: 2) { path in
            let (values, labels) = try readCSV(path, layout: F.layout, limit: nil, budget: Self.budget)
            #expect(values.count == labels.count * 16)
            #expect(values.allSatisfy { $0.isFinite && abs($0) <= Float(maximumInputMagnitude) })
            return values.count * 4
        }
        #expect(ok > 0 && refused > 0, "ok \(ok) refused \(refused)")
    }

    @Test("mutated safetensors files")
    func safetensors() throws {
        let base = safetensorsBytes([NamedTensor(name: "w", shape: [2, 3], values: (0..<6).map(Float.init)),
                                     NamedTensor(name: "b", shape: [2], values: [1, 2])],
                                    metadata: [("format", "pt")])
        // The length field, then spots inside the JSON header (digits of shapes and offsets).
        let fields = [0] + Array(stride(from: 8, to: min(base.count - 32, 120), by: 7))
        let (ok, refused) = try Self.fuzz("safetensors", base: base, headerFields: fields, fieldWidth: 8, seed: 3) { path in
            let reader = try SafetensorsReader(path: path)
            var size = 0
            for (name, entry) in reader.entries where entry.dtype == "F32" { size += try reader.floats(name).count * 4 }
            return size
        }
        #expect(ok > 0 && refused > 0, "ok \(ok) refused \(refused)")
    }

    @Test("mutated gzip streams")
    func gzip() throws {
        // Compressed data mutated directly: the DataSource must stop cleanly whatever zlib makes of it.
        let base = F.gzip(F.idx([8, 4, 4]))
        let (ok, refused) = try Self.fuzz("gzip", base: base, headerFields: [4, base.count - 8, base.count - 4], fieldWidth: 4,
                                          seed: 4) { path in
            let source = try DataSource(path: path)
            var total = 0
            var buffer = [UInt8](repeating: 0, count: 4096)
            while total <= Self.budget {
                let got = try buffer.withUnsafeMutableBufferPointer { try source.read(into: $0.baseAddress!, count: $0.count) }
                if got == 0 { break }
                total += got
            }
            return total
        }
        #expect(ok > 0 && refused > 0, "ok \(ok) refused \(refused)")
    }
}
