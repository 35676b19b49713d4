import Foundation
import Testing
@testable import CNNC

/// Untrusted checkpoints: each mismatch with the network is one `PATH: error:` line naming the tensor.
@Suite("Checkpoint reader")
struct CheckpointReaderTests {
    static let source = """
        net tiny
        input 4x4x2
        conv 3 3x3 pad=1 bias=element relu
        dense 2
        softmax
        """

    let net: Network
    let dir: URL

    init() throws {
        net = try ExportFixture.compile(Self.source).network
        dir = try ExportFixture.folder("checkpoints")
    }

    /// A safetensors file from a header text and data bytes, with an explicit header length.
    func file(_ name: String, header: String, data: [UInt8], headerLength: UInt64? = nil) throws -> String {
        let h = Array(header.utf8)
        let n = headerLength ?? UInt64(h.count)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + data
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// The header entries of the network's tensors laid out back to back, with edits.
    func entries(dtype: [String: String] = [:], shape: [String: String] = [:], offsets: [String: String] = [:],
                 extra: String = "") -> (header: String, size: Int) {
        var at = 0
        var parts: [String] = []
        for p in net.parameters {
            let size = p.count * 4
            let s = shape[p.name] ?? "[" + p.layout.torchShape.map(String.init).joined(separator: ",") + "]"
            parts.append("\"\(p.name)\":{\"dtype\":\"\(dtype[p.name] ?? "F32")\",\"shape\":\(s),"
                + "\"data_offsets\":\(offsets[p.name] ?? "[\(at),\(at + size)]")}")
            at += size
        }
        return ("{\"__metadata__\":{\"format\":\"pt\"}," + parts.joined(separator: ",") + extra + "}", at)
    }

    func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32($0))) } }
    }

    func expectError(_ path: String, _ fragment: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        do {
            _ = try CheckpointReader.read(path, for: net)
            Issue.record("\(path): read without error; expected \(fragment)", sourceLocation: sourceLocation)
        } catch let e as CompileError {
            #expect(e.description.hasPrefix("\(path): error: "), "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
            #expect(!e.description.contains("\n"), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("a trainer-style checkpoint reads back exactly")
    func roundTrip() throws {
        let weights = ExportFixture.weights(net)
        let url = dir.appendingPathComponent("good.safetensors")
        try SafeTensorsFile.write(Dictionary(uniqueKeysWithValues: net.parameters.map {
            ($0.name, SafeTensorsFile.Tensor(shape: $0.layout.torchShape, values: weights[$0.name]!))
        }), to: url)
        #expect(try CheckpointReader.read(url.path, for: net) == weights)
    }

    @Test("tensors that do not match the network's parameters")
    func mismatches() throws {
        let total = net.parameters.reduce(0) { $0 + $1.count * 4 }
        let data = [UInt8](repeating: 0, count: total)
        var e = entries(extra: ",\"conv9.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}")
        expectError(try file("extra", header: e.header, data: data), "unexpected tensor conv9.weight (network tiny")
        e = entries(dtype: ["conv1.weight": "F16"])
        expectError(try file("dtype", header: e.header, data: data), "tensor conv1.weight has dtype F16, expected F32")
        e = entries(shape: ["conv1.bias": "[4,4,3]"])
        expectError(try file("shape", header: e.header, data: data),
                    "tensor conv1.bias has shape [4, 4, 3], expected [3, 4, 4]")
        e = entries(shape: ["dense1.weight": "[2,-48]"])
        expectError(try file("negative", header: e.header, data: data), "dense1.weight has shape [2, -48], expected [2, 48]")
        e = entries(shape: ["dense1.weight": "\"2x48\""])
        expectError(try file("shape-type", header: e.header, data: data), "tensor dense1.weight has no valid shape")
        e = entries(dtype: ["dense1.bias": "F32\\u0000"])
        expectError(try file("dtype-nul", header: e.header, data: data), "tensor dense1.bias has dtype")
        let header = entries().header.replacingOccurrences(of: "\"dense1.bias\":", with: "\"dense1.bias_\":")
        expectError(try file("renamed", header: header, data: data), "unexpected tensor dense1.bias_")
    }

    @Test("a missing tensor is named with the shape it needs")
    func missing() throws {
        let all = entries()
        // Drop dense1.bias (the last entry) and its 8 bytes: the rest still tiles its data.
        let header = all.header.replacingOccurrences(
            of: #",\"dense1.bias\":\{[^}]*\}"#, with: "", options: .regularExpression)
        expectError(try file("missing", header: header, data: [UInt8](repeating: 0, count: all.size - 8)),
                    "missing tensor dense1.bias (expected shape [2])")
    }

    @Test("byte ranges must tile the data area exactly")
    func ranges() throws {
        let e = entries()
        let data = [UInt8](repeating: 0, count: e.size)
        // conv1.weight holds 3*2*3*3 floats = 216 bytes, conv1.bias 3*4*4 = 192, dense1.weight 2*48 = 384.
        var bad = entries(offsets: ["conv1.weight": "[0,212]"])
        expectError(try file("short", header: bad.header, data: data),
                    "tensor conv1.weight has data_offsets [0, 212], expected a range of 216 bytes")
        bad = entries(offsets: ["conv1.bias": "[220,412]"])
        expectError(try file("gap", header: bad.header, data: data + [0, 0, 0, 0]), "leaves bytes 216..<220 of the data unused")
        bad = entries(offsets: ["conv1.bias": "[212,404]"])
        expectError(try file("overlap", header: bad.header, data: data), "tensor conv1.bias overlaps the tensor before it")
        expectError(try file("trailing", header: e.header, data: data + [1, 2, 3, 4]),
                    "the tensors end at byte \(e.size) of the data, but it holds \(e.size + 4) bytes")
        expectError(try file("truncated", header: e.header, data: Array(data.dropLast(4))), "file truncated?")
        bad = entries(offsets: ["dense1.bias": "[1e30,8]"])
        expectError(try file("huge", header: bad.header, data: data), "tensor dense1.bias has no valid data_offsets")
        bad = entries(offsets: ["dense1.bias": "[-8,0]"])
        expectError(try file("negative", header: bad.header, data: data), "tensor dense1.bias has data_offsets [-8, 0]")
        bad = entries(offsets: ["dense1.bias": "[792]"])
        expectError(try file("one", header: bad.header, data: data), "tensor dense1.bias has no valid data_offsets")
        bad = entries(offsets: ["dense1.bias": "[9223372036854775800,9223372036854775807]"])
        expectError(try file("max", header: bad.header, data: data), "dense1.bias has data_offsets")
    }

    @Test("non-finite values are refused, naming the index")
    func nonFinite() throws {
        let e = entries()
        var values = [Float](repeating: 0.5, count: e.size / 4)
        values[values.count - 1] = .nan
        expectError(try file("nan", header: e.header, data: floats(values)), "tensor dense1.bias holds a non-finite value (nan) at index 1")
    }

    @Test("files that are not safetensors at all")
    func notSafetensors() throws {
        expectError(try file("empty", header: "", data: [], headerLength: 0), "invalid safetensors header")
        let tiny = dir.appendingPathComponent("tiny")
        try Data([1, 2, 3]).write(to: tiny)
        expectError(tiny.path, "not a safetensors file (only 3 bytes)")
        expectError(try file("long", header: "{}", data: [], headerLength: 1 << 40), "header length 1099511627776 exceeds")
        expectError(try file("array", header: "[1,2]", data: []), "invalid safetensors header: not a JSON object of tensors")
        expectError(try file("text", header: "{\"a\": ", data: []), "invalid safetensors header")
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        expectError(try file("deep", header: "{\"a\":" + deep + "}", data: []), "invalid safetensors header")
        expectError(dir.path, "the checkpoint is not a regular file")
        expectError(dir.appendingPathComponent("absent").path, "cannot read the checkpoint: No such file or directory")
    }

    @Test("a header larger than the format's limit is refused before it is read")
    func headerLimit() throws {
        // A sparse file: 200 MB long on paper, a few bytes on disk.
        let path = try file("sparse", header: "{}", data: [], headerLength: 150 << 20)
        #expect(truncate(path, 200 << 20) == 0)
        expectError(path, "safetensors header of 157286400 bytes exceeds the limit of 104857600")
    }
}
