// Checkpoints in the safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. Tensors are in PyTorch layout.

/// One tensor to write: name, shape and values (row-major, PyTorch layout).
struct NamedTensor {
    let name: String
    let shape: [Int]
    let values: [Float]
}

/// Serialises `tensors` (in order) and `metadata` (string to string) as a safetensors file.
func safetensorsBytes(_ tensors: [NamedTensor], metadata: [(String, String)]) -> [UInt8] {
    var entries: [String] = []
    var offset = 0
    for tensor in tensors {
        let size = tensor.values.count * 4
        entries.append(jsonString(tensor.name) + ":{\"dtype\":\"F32\",\"shape\":["
            + tensor.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(offset + size)]}")
        offset += size
    }
    if !metadata.isEmpty {
        entries.append("\"__metadata__\":{" + metadata.map { jsonString($0.0) + ":" + jsonString($0.1) }
            .joined(separator: ",") + "}")
    }
    var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }  // pad so that the data is 8-byte aligned

    var out: [UInt8] = []
    out.reserveCapacity(8 + header.count + offset)
    var length = UInt64(header.count)
    for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: length)); length >>= 8 }
    out += header
    for tensor in tensors {
        for value in tensor.values {
            let bits = value.bitPattern
            out.append(UInt8(truncatingIfNeeded: bits))
            out.append(UInt8(truncatingIfNeeded: bits >> 8))
            out.append(UInt8(truncatingIfNeeded: bits >> 16))
            out.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
    }
    return out
}

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

/// A tensor entry of a safetensors header.
struct TensorEntry {
    let dtype: String
    let shape: [Int]
    let begin: Int, end: Int
}

/// Reads and checks the header of a safetensors file; returns its entries (metadata excluded) and data start.
func parseSafetensorsHeader(_ bytes: [UInt8], path: String) throws -> (entries: [String: TensorEntry], dataStart: Int) {
    guard bytes.count >= 8 else { throw RuntimeError("\(path): not a safetensors file (only \(bytes.count) bytes)") }
    var length: UInt64 = 0
    for i in (0..<8).reversed() { length = length << 8 | UInt64(bytes[i]) }
    guard length <= UInt64(bytes.count - 8) else {
        throw RuntimeError("\(path): not a safetensors file (header length \(length) exceeds the file's \(bytes.count) bytes)")
    }
    let dataStart = 8 + Int(length)
    let header: JSONValue
    do {
        header = try parseJSON(bytes[8..<dataStart])
    } catch let error as JSONParseError {
        throw RuntimeError("\(path): invalid safetensors header: \(error.message) at byte \(8 + error.offset)")
    }
    guard case .object(let members) = header else { throw RuntimeError("\(path): invalid safetensors header: not a JSON object") }
    let dataSize = bytes.count - dataStart
    var entries: [String: TensorEntry] = [:]
    for (name, value) in members where name != "__metadata__" {
        func bad(_ what: String) -> RuntimeError { RuntimeError("\(path): tensor \(name): \(what)") }
        guard case .string(let dtype)? = value["dtype"] else { throw bad("missing or invalid dtype") }
        guard case .array(let dims)? = value["shape"] else { throw bad("missing or invalid shape") }
        let shape = try dims.map { dim -> Int in
            guard case .number(let d) = dim, let n = Int(exactly: d), n >= 0, n < 1 << 40 else { throw bad("invalid shape") }
            return n
        }
        guard case .array(let range)? = value["data_offsets"], range.count == 2,
              case .number(let b) = range[0], case .number(let e) = range[1],
              let begin = Int(exactly: b), let end = Int(exactly: e) else { throw bad("missing or invalid data_offsets") }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw bad("data_offsets [\(begin), \(end)] lie outside the \(dataSize) data bytes (file truncated?)")
        }
        entries[name] = TensorEntry(dtype: dtype, shape: shape, begin: begin, end: end)
    }
    return (entries, dataStart)
}

/// Loads weights saved by `saveCheckpoint` (or by PyTorch, same names and layouts) into the network.
func loadCheckpoint(_ network: Network, from path: String) throws {
    let bytes = try readWholeFile(path)
    let (entries, dataStart) = try parseSafetensorsHeader(bytes, path: path)
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
        var values = [Float](repeating: 0, count: spec.count)
        var at = dataStart + entry.begin
        for i in 0..<spec.count {
            let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            values[i] = Float(bitPattern: bits)
            guard values[i].isFinite else {
                throw RuntimeError("\(path): tensor \(spec.name) holds a non-finite value (\(values[i])) at index \(i)")
            }
            at += 4
        }
        loaded.append((spec, values))
    }
    network.parameters.update(repeating: 0, count: NetInfo.parameterCount)  // anything outside the table is zero
    for (spec, values) in loaded {
        values.withUnsafeBufferPointer { spec.layout.fromTorch($0.baseAddress!, network.parameters + spec.offset) }
    }
    network.parametersChanged()
}
