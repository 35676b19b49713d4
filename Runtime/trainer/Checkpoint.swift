// Checkpoints of the network's weights in the safetensors format (SafeTensors.swift), tensors in PyTorch layout.

/// The network's parameters (or, with `gradients`, its gradients) as PyTorch-layout tensors, in table order.
func parameterTensors(_ base: UnsafeMutablePointer<Float>, _ info: NetworkInfo) -> [NamedTensor] {
    info.parameters.map { spec in
        var values = [Float](repeating: 0, count: spec.count)
        values.withUnsafeMutableBufferPointer { spec.layout.toTorch(base + spec.offset, $0.baseAddress!) }
        return NamedTensor(name: spec.name, shape: spec.torchShape, values: values)
    }
}

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
    network.parameters.update(repeating: 0, count: info.parameterCount)  // anything outside the table is zero
    for (spec, values) in loaded {
        values.withUnsafeBufferPointer { spec.layout.fromTorch($0.baseAddress!, network.parameters + spec.offset) }
    }
    network.parametersChanged()
}
