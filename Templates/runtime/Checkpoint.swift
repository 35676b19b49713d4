// Checkpoints of the network's weights in the safetensors format (SafeTensors.swift), tensors in PyTorch layout.

/// The network's parameters (or, with `gradients`, its gradients) as PyTorch-layout tensors, in table order.
func parameterTensors(_ base: UnsafeMutablePointer<Float>) -> [NamedTensor] {
    NetInfo.parameters.map { spec in
        var values = [Float](repeating: 0, count: spec.count)
        values.withUnsafeMutableBufferPointer { spec.layout.toTorch(base + spec.offset, $0.baseAddress!) }
        return NamedTensor(name: spec.name, shape: spec.torchShape, values: values)
    }
}

/// Identifies the network in every file this trainer writes.
var checkpointMetadata: [(String, String)] {
    [("format", "pt"), ("network", NetInfo.name), ("source", NetInfo.source), ("target", NetInfo.target)]
}

/// Writes the network's weights to `path` (atomically).
func saveCheckpoint(_ network: Network, to path: String) throws {
    network.synchronizeParameters()
    let bytes = safetensorsBytes(parameterTensors(network.parameters), metadata: checkpointMetadata)
    try writeFileAtomically(bytes, to: path)
}

/// Loads weights saved by `saveCheckpoint` (or by PyTorch, same names and layouts) into the network.
func loadCheckpoint(_ network: Network, from file: SafetensorsReader) throws {
    let path = file.path
    let entries = file.entries
    let expected = Set(NetInfo.parameters.map(\.name))
    if let extra = entries.keys.sorted().first(where: { !expected.contains($0) }) {
        throw RuntimeError("\(path): unexpected tensor \(extra) (network \(NetInfo.name) has no such parameter)")
    }
    var loaded: [(ParamSpec, [Float])] = []
    for spec in NetInfo.parameters {
        guard let entry = entries[spec.name] else {
            throw RuntimeError("\(path): missing tensor \(spec.name) (expected shape \(formatShape(spec.torchShape)))")
        }
        guard entry.dtype == "F32" else {
            throw RuntimeError("\(path): tensor \(spec.name) has dtype \(entry.dtype), expected F32")
        }
        guard entry.shape == spec.torchShape else {
            throw RuntimeError("\(path): tensor \(spec.name) has shape \(formatShape(entry.shape)), "
                + "expected \(formatShape(spec.torchShape))")
        }
        guard entry.end - entry.begin == spec.count * 4 else {
            throw RuntimeError("\(path): tensor \(spec.name) holds \(entry.end - entry.begin) bytes, "
                + "expected \(spec.count * 4) for shape \(formatShape(spec.torchShape))")
        }
        let values = try file.floats(spec.name)
        loaded.append((spec, values))
    }
    network.parameters.update(repeating: 0, count: NetInfo.parameterCount)  // anything outside the table is zero
    for (spec, values) in loaded {
        values.withUnsafeBufferPointer { spec.layout.fromTorch($0.baseAddress!, network.parameters + spec.offset) }
    }
    network.parametersChanged()
}
