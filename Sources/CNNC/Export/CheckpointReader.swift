import Foundation

/// Reads a trainer's checkpoint (safetensors: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the data) for one network, checking everything against it before
/// trusting any of it: the header's length against the file, every tensor against the network's parameters
/// (name, F32, PyTorch shape), and the byte ranges tiling the data area exactly, so that no byte is read twice or
/// left unexplained. Only then is the data read, and only as much as the network's parameters need.
/// Every mismatch is a one-line `CompileError` naming the file and the tensor.
public enum CheckpointReader {
    /// The largest header accepted (the safetensors format's own limit).
    static let maxHeaderBytes: UInt64 = 100 << 20

    /// The network's parameters by name, each in PyTorch layout (row-major `ParamLayout.torchShape`).
    public static func read(_ path: String, for net: Network) throws -> [String: [Float]] {
        func fail(_ message: String) -> CompileError { CompileError("\(path): error: \(message)") }

        var info = stat()
        guard stat(path, &info) == 0 else { throw fail("cannot read the checkpoint: \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw fail("the checkpoint is not a regular file") }
        let fileSize = UInt64(info.st_size)
        guard let file = FileHandle(forReadingAtPath: path) else { throw fail("cannot open the checkpoint") }
        defer { try? file.close() }

        guard fileSize >= 8 else { throw fail("not a safetensors file (only \(fileSize) bytes)") }
        let prefix = try readExactly(file, 8, path: path)
        let headerLength = prefix.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= fileSize - 8 else {
            throw fail("not a safetensors file (header length \(headerLength) exceeds the file's \(fileSize) bytes)")
        }
        guard headerLength <= maxHeaderBytes else {
            throw fail("safetensors header of \(headerLength) bytes exceeds the limit of \(maxHeaderBytes)")
        }
        let header = try parseHeader(try readExactly(file, Int(headerLength), path: path), path: path)
        let dataSize = Int(fileSize - 8 - headerLength)

        let entries = try check(header, against: net, dataSize: dataSize, path: path)
        let data = try readExactly(file, dataSize, path: path)
        var weights: [String: [Float]] = [:]
        for p in net.state {
            let entry = entries[p.name]!
            if p.layout == .counter {  // batchnorm's num_batches_tracked: an I64 that inference does not use
                weights[p.name] = [Float((0..<8).reduce(Int64(0)) { $0 | Int64(data[entry.begin + $1]) << (8 * $1) })]
                continue
            }
            var values = [Float](repeating: 0, count: p.count)
            for i in 0..<p.count {
                let at = entry.begin + 4 * i
                let bits = UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
                values[i] = Float(bitPattern: bits)
                guard values[i].isFinite else {
                    throw fail("tensor \(p.name) holds a non-finite value (\(values[i])) at index \(i)")
                }
            }
            weights[p.name] = values
        }
        return weights
    }

    /// One tensor of the header as written; any field may be missing or of the wrong type.
    struct Entry: Decodable {
        var dtype: String?
        var shape: [Int]?
        var offsets: [Int]?

        enum CodingKeys: String, CodingKey { case dtype, shape, offsets = "data_offsets" }

        init(from decoder: Decoder) throws {
            // `__metadata__` (strings) decodes here too; it is skipped by name.
            guard let c = try? decoder.container(keyedBy: CodingKeys.self) else { return }
            dtype = try? c.decode(String.self, forKey: .dtype)
            shape = try? c.decode([Int].self, forKey: .shape)
            offsets = try? c.decode([Int].self, forKey: .offsets)
        }
    }

    static func parseHeader(_ bytes: [UInt8], path: String) throws -> [String: Entry] {
        do {
            return try JSONDecoder().decode([String: Entry].self, from: Data(bytes)).filter { $0.key != "__metadata__" }
        } catch {
            throw CompileError("\(path): error: invalid safetensors header: not a JSON object of tensors")
        }
    }

    /// A tensor's place in the data area, after checking.
    struct Range { var begin: Int; var end: Int }

    /// Checks the header against the network; returns each parameter's byte range in the data area.
    static func check(_ header: [String: Entry], against net: Network, dataSize: Int, path: String) throws -> [String: Range] {
        func fail(_ message: String) -> CompileError { CompileError("\(path): error: \(message)") }
        let expected = Set(net.state.map(\.name))
        if let extra = header.keys.sorted().first(where: { !expected.contains($0) }) {
            throw fail("unexpected tensor \(extra) (network \(net.name) has no such parameter)")
        }
        var ranges: [String: Range] = [:]
        for p in net.state {
            let want = "[" + p.layout.torchShape.map(String.init).joined(separator: ", ") + "]"
            guard let e = header[p.name] else { throw fail("missing tensor \(p.name) (expected shape \(want))") }
            guard let dtype = e.dtype else { throw fail("tensor \(p.name) has no valid dtype") }
            let type = p.layout == .counter ? "I64" : "F32"
            guard dtype == type else { throw fail("tensor \(p.name) has dtype \(dtype), expected \(type)") }
            guard let shape = e.shape else { throw fail("tensor \(p.name) has no valid shape") }
            guard shape == p.layout.torchShape else {
                throw fail("tensor \(p.name) has shape [\(shape.map(String.init).joined(separator: ", "))], expected \(want)")
            }
            guard let o = e.offsets, o.count == 2 else { throw fail("tensor \(p.name) has no valid data_offsets") }
            let (bytes, overflow) = p.count.multipliedReportingOverflow(by: p.layout == .counter ? 8 : 4)
            guard !overflow, o[0] >= 0, o[0] <= o[1], o[1] - o[0] == bytes else {
                throw fail("tensor \(p.name) has data_offsets [\(o[0]), \(o[1])], expected a range of \(bytes) bytes")
            }
            ranges[p.name] = Range(begin: o[0], end: o[1])
        }
        // The ranges, in file order, must tile the data area: each starts where the previous ended, the last
        // ends at the end of the file.
        var end = 0
        for (name, r) in ranges.sorted(by: { ($0.value.begin, $0.value.end) < ($1.value.begin, $1.value.end) }) {
            guard r.begin == end else {
                throw fail(r.begin < end ? "tensor \(name) overlaps the tensor before it (starts at byte \(r.begin), not \(end))"
                                         : "tensor \(name) leaves bytes \(end)..<\(r.begin) of the data unused")
            }
            guard r.end <= dataSize else {
                throw fail("tensor \(name) ends at byte \(r.end), past the \(dataSize) data bytes (file truncated?)")
            }
            end = r.end
        }
        guard end == dataSize else {
            throw fail("the tensors end at byte \(end) of the data, but it holds \(dataSize) bytes")
        }
        return ranges
    }

    /// Reads exactly `count` bytes or fails (the file shrank, or is not what stat said).
    static func readExactly(_ file: FileHandle, _ count: Int, path: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let chunk: Data?
            do { chunk = try file.read(upToCount: min(count - out.count, 1 << 24)) } catch {
                throw CompileError("\(path): error: cannot read the checkpoint: \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { throw CompileError("\(path): error: the checkpoint is truncated") }
            out += chunk
        }
        return out
    }
}
