import Foundation
import Testing
@testable import TrainerRuntime

/// The trainer's readers, in process: every file is read no further than its header promises (or --limit
/// needs), so bombs, devices and trailing garbage are errors after a bounded read.
@Suite("Trainer runtime readers")
struct RuntimeReaderTests {
    typealias F = RuntimeTestFiles

    @Test("a gzip bomb behind a small IDX header is refused after reading a few KiB")
    func gzipBomb() throws {
        let dir = try F.folder("bomb")
        // 4 images of 4x4 as the header says, then 1 GiB of zeros in 64 more gzip members (about 1 MB on disk).
        let zeros = F.gzip([UInt8](repeating: 0, count: 16 << 20), level: 9)
        let file = F.gzip(F.idx([4, 4, 4])) + (0..<64).flatMap { _ in zeros }
        let path = try F.write(file, "bomb.gz", in: dir)
        let started = Date()
        let message = F.errorMessage {
            _ = try readIDX(path, what: "images", dimensionCounts: [3], limit: nil, budget: 1 << 30)
        }
        #expect(message?.contains("unexpected bytes after the 4x4x4 images") == true, "\(message ?? "no error")")
        #expect(Date().timeIntervalSince(started) < 2, "the bomb was inflated")
        // The stream itself: the header and values, then one probe byte, cost one input chunk or two.
        let source = try DataSource(path: path)
        _ = try source.readExactly(16 + 64)
        #expect(try !source.atEnd())
        #expect(source.fileBytesRead <= 2 << 16 && source.bytesProduced == 81, "\(source.fileBytesRead)")
    }

    @Test("--limit stops inflating a huge IDX file at the samples it needs")
    func limitStopsInflating() throws {
        let dir = try F.folder("limit")
        // The header promises 10 million 4x4 images (160 MB inflated); only 100 are wanted.
        let zeros = F.gzip([UInt8](repeating: 0, count: 16 << 20), level: 9)
        let file = F.gzip(F.be(0x803) + F.be(10_000_000) + F.be(4) + F.be(4)) + (0..<10).flatMap { _ in zeros }
        let path = try F.write(file, "many.gz", in: dir)
        let data = try readIDX(path, what: "images", dimensionCounts: [3], limit: 100, budget: 1 << 30)
        #expect(data.items == 100 && data.bytes.count == 1600)
        #expect(data.fileBytesRead <= 2 << 16, "read \(data.fileBytesRead) compressed bytes")
    }

    @Test("/dev/zero is refused as IDX, CSV and checkpoint")
    func devZero() throws {
        let idx = F.errorMessage { _ = try readIDX("/dev/zero", what: "images", dimensionCounts: [3], limit: nil, budget: 1 << 30) }
        #expect(idx?.contains("wrong IDX magic") == true, "\(idx ?? "no error")")
        let csv = F.errorMessage { _ = try readCSV("/dev/zero", layout: F.layout, limit: 100, budget: 1 << 30) }
        #expect(csv?.contains("line longer than") == true, "\(csv ?? "no error")")
        let load = F.errorMessage { _ = try SafetensorsReader(path: "/dev/zero") }
        #expect(load?.contains("not a regular file") == true, "\(load ?? "no error")")
    }

    @Test("an IDX header promising more than the memory budget is refused before reading")
    func idxBudget() throws {
        let dir = try F.folder("budget")
        let path = try F.write(F.be(0x803) + F.be(0xFFFF_FFFF) + F.be(0xFFFF) + F.be(0xFFFF), "huge", in: dir)
        let message = F.errorMessage { _ = try readIDX(path, what: "images", dimensionCounts: [3], limit: nil, budget: 1 << 20) }
        #expect(message?.contains("of memory") == true && message?.contains("--limit") == true, "\(message ?? "no error")")
    }

    @Test("trailing bytes after IDX values are an error")
    func idxTrailing() throws {
        let dir = try F.folder("trailing")
        let path = try F.write(F.idx([4, 4, 4]) + [7], "t", in: dir)
        let message = F.errorMessage { _ = try readIDX(path, what: "images", dimensionCounts: [3], limit: nil, budget: 1 << 20) }
        #expect(message?.contains("unexpected bytes") == true, "\(message ?? "no error")")
    }

    @Test("a CSV value of 3e38 is refused naming the file and line")
    func csvHugeValue() throws {
        let dir = try F.folder("csv-huge")
        let row = (0..<16).map { _ in "0.5" }.joined(separator: ",") + ",1\n"
        let bad = (0..<15).map { _ in "0.5" }.joined(separator: ",") + ",3e38,2\n"
        let path = try F.write(Array((row + bad).utf8), "huge.csv", in: dir)
        let message = F.errorMessage { _ = try readCSV(path, layout: F.layout, limit: nil, budget: 1 << 20) }
        #expect(message?.hasPrefix(path + ":2: field 16 \"3e38\" is out of range") == true, "\(message ?? "no error")")
        let fine = try F.write(Array((row + row).utf8), "fine.csv", in: dir)
        let (values, labels) = try readCSV(fine, layout: F.layout, limit: nil, budget: 1 << 20)
        #expect(values.count == 32 && labels == [1, 1])
    }

    @Test("CSV reading stops at --limit and at the memory budget")
    func csvBounds() throws {
        let dir = try F.folder("csv-bounds")
        let row = (0..<16).map { String($0) }.joined(separator: ",") + ",2\n"
        let path = try F.write(Array(String(repeating: row, count: 1000).utf8), "rows.csv", in: dir)
        let (values, labels) = try readCSV(path, layout: F.layout, limit: 10, budget: 1 << 20)
        #expect(labels.count == 10 && values.count == 160)
        let message = F.errorMessage { _ = try readCSV(path, layout: F.layout, limit: nil, budget: 1000) }
        #expect(message?.contains("of memory") == true, "\(message ?? "no error")")
    }

    /// A safetensors file whose header is `json` (padded) followed by `data` bytes.
    func safetensors(_ json: String, data: Int) -> [UInt8] {
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var length = UInt64(header.count)
        var out: [UInt8] = []
        for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: length)); length >>= 8 }
        return out + header + [UInt8](repeating: 0, count: data)
    }

    @Test("safetensors offsets must tile the data: overlaps, gaps and trailing bytes are refused")
    func safetensorsTiling() throws {
        let dir = try F.folder("tiling")
        let cases: [(String, String, Int, String)] = [
            ("overlap", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12, "overlap"),
            ("gap", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, 12, "gap"),
            ("trailing", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 12, "unexpected bytes after the last tensor"),
            ("size", #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8, "needs 12"),
            ("dtype", #"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#, 8, "unknown dtype"),
        ]
        for (name, json, data, expected) in cases {
            let path = try F.write(safetensors(json, data: data), name, in: dir)
            let message = F.errorMessage { _ = try SafetensorsReader(path: path) }
            #expect(message?.contains(expected) == true, "\(name): \(message ?? "no error")")
        }
        let good = try F.write(safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}"#, data: 12), "good", in: dir)
        let reader = try SafetensorsReader(path: good)
        #expect(try reader.floats("a") == [0, 0] && reader.entries.count == 2)
    }

    @Test("a safetensors header length above 100 MB is refused before it is read")
    func safetensorsHeaderLength() throws {
        let dir = try F.folder("header-length")
        var bytes = [UInt8](repeating: 0, count: 16)
        let length = UInt64(200_000_000)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(i))) }
        let path = try F.write(bytes, "long", in: dir)
        let message = F.errorMessage { _ = try SafetensorsReader(path: path) }
        #expect(message?.contains("exceeds the limit") == true, "\(message ?? "no error")")
    }
}
