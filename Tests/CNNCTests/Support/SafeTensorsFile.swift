import Foundation

/// A minimal safetensors reader and writer for the tests, written apart from the generated runtime's so that
/// the two check each other: F32 tensors, and I64 ones (whole values, kept as Float here: batchnorm's
/// num_batches_tracked), little-endian, header JSON then data.
enum SafeTensorsFile {
    struct Tensor { var shape: [Int]; var values: [Float]; var integer = false }

    static func write(_ tensors: [String: Tensor], to url: URL) throws {
        var header: [String: Any] = [:]
        var data = Data()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            precondition(t.shape.reduce(1, *) == t.values.count, "\(name): shape does not match values")
            let begin = data.count
            for v in t.values {
                if t.integer {
                    withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) }
                } else {
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
                }
            }
            header[name] = ["dtype": t.integer ? "I64" : "F32", "shape": t.shape, "data_offsets": [begin, data.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(data)
        try file.write(to: url)
    }

    static func read(_ url: URL) throws -> [String: Tensor] {
        let file = try Data(contentsOf: url)
        guard file.count >= 8 else { throw CocoaError(.fileReadCorruptFile) }
        let n = file.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        let headerEnd = 8 + Int(n)
        guard headerEnd <= file.count,
              let header = try JSONSerialization.jsonObject(with: file.subdata(in: 8..<headerEnd)) as? [String: Any]
        else { throw CocoaError(.fileReadCorruptFile) }
        var out: [String: Tensor] = [:]
        for (name, entry) in header where name != "__metadata__" {
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String, ["F32", "I64"].contains(dtype),
                  let shape = e["shape"] as? [Int],
                  let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else { throw CocoaError(.fileReadCorruptFile) }
            let bytes = file.subdata(in: headerEnd + offsets[0]..<headerEnd + offsets[1])
            if dtype == "I64" {
                let values = stride(from: 0, to: bytes.count, by: 8).map { i in
                    Float(Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[bytes.startIndex + i + $1]) << (8 * UInt64($1)) }))
                }
                out[name] = Tensor(shape: shape, values: values, integer: true)
                continue
            }
            var values = [Float](repeating: 0, count: bytes.count / 4)
            for i in values.indices {
                let b = bytes.startIndex + 4 * i
                let bits = UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24
                values[i] = Float(bitPattern: bits)
            }
            out[name] = Tensor(shape: shape, values: values)
        }
        return out
    }
}
