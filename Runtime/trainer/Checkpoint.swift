// Checkpoints of the network's weights in the safetensors format (SafeTensors.swift), tensors in PyTorch layout.
import Foundation

/// The network's parameters and buffers (or, with `gradients`, the parameters' gradients: buffers have none) as
/// PyTorch-layout tensors, in table order; a batch counter is an I64 tensor.
func parameterTensors(_ base: UnsafeMutablePointer<Float>, _ info: NetworkInfo, gradients: Bool = false) -> [NamedTensor] {
    info.parameters.filter { !(gradients && $0.buffer) }.map { spec in
        var values = [Float](repeating: 0, count: spec.count)
        values.withUnsafeMutableBufferPointer { spec.layout.toTorch(base + spec.offset, $0.baseAddress!) }
        return NamedTensor(name: spec.name, shape: spec.torchShape, values: values, integer: spec.layout == .counter)
    }
}

/// The largest count a batch counter keeps exactly in its float.
let largestBatchCount: Int64 = 1 << 24

/// Identifies the network in every file this trainer writes.
func checkpointMetadata(_ info: NetworkInfo) -> [(String, String)] {
    [("format", "pt"), ("network", info.name), ("source", info.source), ("target", info.target)]
}

/// Writes the network's weights to `path` (atomically).
func saveCheckpoint<N: TrainableNetwork>(_ network: N, to path: String) throws {
    network.synchronizeParameters()
    let bytes = safetensorsBytes(parameterTensors(network.parameters, N.info), metadata: checkpointMetadata(N.info))
    try writeFileAtomically(bytes, to: path)
}

/// Opens the checkpoint at `path` and checks its header (its tensors are read by `loadCheckpoint`); a missing
/// file is `OPTION PATH: no such file`, or `PATH: no such file` without an `option`.
func openCheckpoint(_ path: String, option: String? = nil) throws -> SafetensorsReader {
    guard FileManager.default.fileExists(atPath: path) else {
        throw RuntimeError("\(option.map { "\($0) " } ?? "")\(path): no such file")
    }
    return try SafetensorsReader(path: path)
}

/// Loads weights saved by `saveCheckpoint` (or by PyTorch, same names and layouts) into the network.
func loadCheckpoint<N: TrainableNetwork>(_ network: N, from file: SafetensorsReader) throws {
    let info = N.info
    let path = file.path
    let entries = file.entries
    let expected = Set(info.parameters.map(\.name))
    if let extra = entries.keys.sorted().first(where: { !expected.contains($0) }) {
        throw RuntimeError("\(path): unexpected tensor \(extra) (network \(info.name) has no such parameter)")
    }
    var loaded: [(ParamSpec, [Float])] = []
    for spec in info.parameters {
        guard let entry = entries[spec.name] else {
            throw RuntimeError("\(path): missing tensor \(spec.name) (expected shape \(formatShape(spec.torchShape)))")
        }
        let dtype = spec.layout == .counter ? "I64" : "F32"
        guard entry.dtype == dtype else {
            throw RuntimeError("\(path): tensor \(spec.name) has dtype \(entry.dtype), expected \(dtype)")
        }
        guard entry.shape == spec.torchShape else {
            throw RuntimeError("\(path): tensor \(spec.name) has shape \(formatShape(entry.shape)), "
                + "expected \(formatShape(spec.torchShape))")
        }
        let size = spec.layout == .counter ? 8 : 4
        guard entry.end - entry.begin == spec.count * size else {
            throw RuntimeError("\(path): tensor \(spec.name) holds \(entry.end - entry.begin) bytes, "
                + "expected \(spec.count * size) for shape \(formatShape(spec.torchShape))")
        }
        if spec.layout == .counter {
            let counts = try file.integers(spec.name)
            guard let bad = counts.first(where: { $0 < 0 || $0 > largestBatchCount }) else {
                loaded.append((spec, counts.map { Float($0) }))
                continue
            }
            throw RuntimeError("\(path): tensor \(spec.name) holds \(bad), expected a count in 0...\(largestBatchCount) "
                + "(the largest this trainer keeps exactly)")
        }
        let values = try file.floats(spec.name)
        loaded.append((spec, values))
    }
    network.parameters.update(repeating: 0, count: info.parameterCount)  // anything outside the table is zero
    for (spec, values) in loaded {
        values.withUnsafeBufferPointer { spec.layout.fromTorch($0.baseAddress!, network.parameters + spec.offset) }
    }
    network.parametersChanged()
}
