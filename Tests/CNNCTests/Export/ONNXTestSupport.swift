import Foundation
@testable import CNNC

/// An exported model read back with the test decoder (ProtobufMessage), field numbers from onnx.proto.
struct DecodedModel {
    struct Node {
        var name: String
        var op: String
        var inputs: [String]
        var outputs: [String]
        var attributes: [String: ProtobufMessage]

        func ints(_ name: String) throws -> [Int64]? { try attributes[name]?.int64s(8) }
        func int(_ name: String) -> Int64? { attributes[name]?.int(3) }
        func float(_ name: String) -> Float? { attributes[name]?.float(2) }
    }
    struct Tensor {
        var dims: [Int64]
        var dataType: Int64?
        var floats: [Float]
        var int64s: [Int64]
    }
    struct Value {
        var name: String
        var elementType: Int64?
        /// Numbers as "28", symbols as "N".
        var dims: [String]
    }

    var irVersion: Int64?
    var producer: String?
    var opsets: [(domain: String, version: Int64)]
    var graphName: String?
    var nodes: [Node]
    var initializers: [String: Tensor]
    var inputs: [Value]
    var outputs: [Value]
    var valueInfo: [Value]

    init(_ bytes: [UInt8]) throws {
        let model = try ProtobufMessage(bytes)
        irVersion = model.int(1)
        producer = model.string(2)
        opsets = try model.messages(8).map { ($0.string(1) ?? "", $0.int(2) ?? -1) }
        let graph = try model.message(7) ?? ProtobufMessage([])
        graphName = graph.string(2)
        nodes = try graph.messages(1).map { n in
            var attributes: [String: ProtobufMessage] = [:]
            for a in try n.messages(5) { attributes[a.string(1) ?? ""] = a }
            return Node(name: n.string(3) ?? "", op: n.string(4) ?? "", inputs: n.strings(1), outputs: n.strings(2),
                        attributes: attributes)
        }
        var tensors: [String: Tensor] = [:]
        for t in try graph.messages(5) {
            tensors[t.string(8) ?? ""] = Tensor(dims: try t.int64s(1), dataType: t.int(2), floats: try t.floats(4),
                                                int64s: try t.int64s(7))
        }
        initializers = tensors
        func value(_ m: ProtobufMessage) throws -> Value {
            let tensorType = try m.message(2)?.message(1)
            let dims = try tensorType?.message(2)?.messages(1).map { d in d.string(2) ?? d.int(1).map { String($0) } ?? "?" }
            return Value(name: m.string(1) ?? "", elementType: tensorType?.int(1), dims: dims ?? [])
        }
        inputs = try graph.messages(11).map(value)
        outputs = try graph.messages(12).map(value)
        valueInfo = try graph.messages(13).map(value)
    }

    var ops: [String] { nodes.map(\.op) }
    func node(_ name: String) -> Node? { nodes.first { $0.name == name } }
}

enum ExportFixture {
    static func compile(_ source: String, file: String = "test.cnn") throws -> Compilation {
        try Compilation(source: Array(source.utf8), file: file)
    }

    static func example(_ name: String) throws -> Compilation {
        try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(name).cnn").path)
    }

    /// Distinct values for every parameter and buffer (so that a swapped or reordered tensor shows), PyTorch layout.
    static func weights(_ net: Network) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (k, p) in net.state.enumerated() {
            out[p.name] = (0..<p.count).map { Float(k + 1) + Float($0) / 1024 }
        }
        return out
    }

    /// A fresh folder for one test's files (tests run in parallel: each gets its own).
    static func folder(_ name: String) throws -> URL {
        let url = GeneratedTrainer.workRoot.appendingPathComponent("export-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
