// The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the raw little-endian data. Reading checks what the format requires before any
// tensor is read: a bounded header length, known dtypes whose sizes match the shapes, and byte ranges that tile
// the data area exactly (no overlap, no gap, nothing after the last tensor). Tensors are read through the file
// handle one at a time, never the whole file into memory.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor to write: name, shape and values (row-major, PyTorch layout).
/// `integer`: written as I64 (whole values, like batchnorm's num_batches_tracked), else F32.
struct NamedTensor {
    let name: String
    let shape: [Int]
    let values: [Float]
    var integer = false
}

/// Serialises `tensors` (in order) and `metadata` (string to string) as a safetensors file.
func safetensorsBytes(_ tensors: [NamedTensor], metadata: [(String, String)]) -> [UInt8] {
    var entries: [String] = []
    var offset = 0
    for tensor in tensors {
        precondition(tensor.shape.reduce(1, *) == tensor.values.count, "\(tensor.name): shape and values disagree")
        let size = tensor.values.count * (tensor.integer ? 8 : 4)
        entries.append(jsonString(tensor.name) + ":{\"dtype\":\"\(tensor.integer ? "I64" : "F32")\",\"shape\":["
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
        if tensor.integer {
            for value in tensor.values {
                var bits = UInt64(bitPattern: Int64(value))
                for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits)); bits >>= 8 }
            }
            continue
        }
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

/// Headers longer than this are refused before they are read (the reference implementation's limit).
let maximumSafetensorsHeaderBytes = 100_000_000

/// The bytes per element of each safetensors dtype.
let safetensorsDtypeSizes: [String: Int] = [
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2,
    "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
]

/// A tensor entry of a safetensors header: byte range relative to the start of the data area.
struct TensorEntry {
    let dtype: String
    let shape: [Int]
    let begin: Int, end: Int
}

/// Checks a safetensors header (the JSON text) against the size of the data area that follows it; returns the
/// tensor entries by name (metadata excluded).
func parseSafetensorsHeader(_ json: ArraySlice<UInt8>, dataSize: Int, path: String) throws -> [String: TensorEntry] {
    let header: JSONValue
    do {
        header = try parseJSON(json)
    } catch let error as JSONParseError {
        throw RuntimeError("\(path): invalid safetensors header: \(error.message) at byte \(8 + error.offset)")
    }
    guard case .object(let members) = header else { throw RuntimeError("\(path): invalid safetensors header: not a JSON object") }
    var entries: [String: TensorEntry] = [:]
    for (name, value) in members where name != "__metadata__" {
        func bad(_ what: String) -> RuntimeError { RuntimeError("\(path): tensor \(name): \(what)") }
        guard case .string(let dtype)? = value["dtype"] else { throw bad("missing or invalid dtype") }
        guard let elementSize = safetensorsDtypeSizes[dtype] else { throw bad("unknown dtype \(dtype)") }
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
        let bytes = saturatingProduct(shape.reduce(1) { saturatingProduct($0, $1) }, elementSize)
        guard bytes == end - begin else {
            throw bad("data_offsets [\(begin), \(end)] hold \(end - begin) bytes but \(dtype) \(formatShape(shape)) "
                + "needs \(bytes == Int.max ? "more" : String(bytes))")
        }
        entries[name] = TensorEntry(dtype: dtype, shape: shape, begin: begin, end: end)
    }
    // The byte ranges must tile the data area: each tensor starts where the one before it ends.
    var next = 0
    var previous = "the start of the data"
    for (name, entry) in entries.sorted(by: { ($0.value.begin, $0.value.end) < ($1.value.begin, $1.value.end) }) {
        if entry.begin < next {
            throw RuntimeError("\(path): tensor \(name): data_offsets [\(entry.begin), \(entry.end)] overlap \(previous)")
        }
        if entry.begin > next {
            throw RuntimeError("\(path): tensor \(name): data_offsets [\(entry.begin), \(entry.end)] leave a gap "
                + "of \(entry.begin - next) bytes after \(previous)")
        }
        next = entry.end
        previous = "tensor \(name)"
    }
    if next != dataSize {
        throw RuntimeError("\(path): corrupt: \(dataSize - next) unexpected bytes after the last tensor")
    }
    return entries
}

/// An open safetensors file: its checked header, and the tensors read on demand through the file handle.
final class SafetensorsReader {
    let path: String
    let entries: [String: TensorEntry]
    /// The header's `__metadata__` strings (a member that is not a string is left out).
    let metadata: [String: String]
    private let fd: Int32
    private let dataStart: Int

    init(path: String) throws {
        self.path = path
        let (fd, info) = try openForReading(path)
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw RuntimeError("\(path): not a regular file (a safetensors checkpoint is one)")
        }
        self.fd = fd
        let fileSize = Int(info.st_size)
        guard fileSize >= 8 else { throw RuntimeError("\(path): not a safetensors file (only \(fileSize) bytes)") }
        let lengthBytes = try SafetensorsReader.read(fd, at: 0, count: 8, path: path)
        let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maximumSafetensorsHeaderBytes) else {
            throw RuntimeError("\(path): not a safetensors file (header length \(length) exceeds the limit of "
                + "\(maximumSafetensorsHeaderBytes) bytes)")
        }
        guard length <= UInt64(fileSize - 8) else {
            throw RuntimeError("\(path): not a safetensors file (header length \(length) exceeds the file's \(fileSize) bytes)")
        }
        dataStart = 8 + Int(length)
        let json = try SafetensorsReader.read(fd, at: 8, count: Int(length), path: path)
        entries = try parseSafetensorsHeader(json[...], dataSize: fileSize - dataStart, path: path)
        var metadata: [String: String] = [:]
        if case .object(let members)? = (try? parseJSON(json[...]))?["__metadata__"] {  // parsed above: valid
            for (key, value) in members { if case .string(let text) = value { metadata[key] = text } }
        }
        self.metadata = metadata
    }

    deinit { close(fd) }

    /// `count` bytes at `offset` of the file; a short read (the file shrank) is an error.
    private static func read(_ fd: Int32, at offset: Int, count: Int, path: String) throws -> [UInt8] {
        var failure: Int32 = 0
        var got = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: Swift.max(count, 1)) { buffer, initialized in
            while got < count {
                let n = pread(fd, buffer.baseAddress! + got, count - got, off_t(offset + got))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                got += n
            }
            initialized = got
        }
        if failure != 0 { throw RuntimeError("\(path): cannot read: \(String(cString: strerror(failure)))") }
        guard got == count else { throw RuntimeError("\(path): truncated while reading (the file changed?)") }
        return bytes
    }

    /// The values of an I64 tensor.
    func integers(_ name: String) throws -> [Int64] {
        guard let entry = entries[name], entry.dtype == "I64" else {
            throw RuntimeError("\(path): tensor \(name) is missing or not I64")
        }
        let bytes = try SafetensorsReader.read(fd, at: dataStart + entry.begin, count: entry.end - entry.begin, path: path)
        return stride(from: 0, to: bytes.count, by: 8).map { at in
            Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) })
        }
    }

    /// The values of an F32 tensor; a non-finite value is an error.
    func floats(_ name: String) throws -> [Float] {
        guard let entry = entries[name], entry.dtype == "F32" else {
            throw RuntimeError("\(path): tensor \(name) is missing or not F32")
        }
        let bytes = try SafetensorsReader.read(fd, at: dataStart + entry.begin, count: entry.end - entry.begin, path: path)
        var values = [Float](repeating: 0, count: bytes.count / 4)
        for i in values.indices {
            let at = 4 * i
            let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            values[i] = Float(bitPattern: bits)
            guard values[i].isFinite else {
                throw RuntimeError("\(path): tensor \(name) holds a non-finite value (\(values[i])) at index \(i)")
            }
        }
        return values
    }
}
