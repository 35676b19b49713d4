/// The Protocol Buffers wire format, as much of it as writing an ONNX model needs: written here so that cnnc
/// depends on no protobuf library. A message is a sequence of fields, each a tag (field number and wire type,
/// as a varint) followed by its value: a varint, four little-endian bytes, or a length-prefixed run of bytes
/// (strings, nested messages, packed repeated scalars). Fields are written in the order the caller writes them;
/// parsers accept any order.
public struct ProtobufWriter: Sendable {
    /// How a field's value is laid out after its tag.
    public enum WireType: UInt8, Sendable {
        case varint = 0
        case lengthDelimited = 2
        case fixed32 = 5
    }

    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Base-128, least significant group first, the high bit set on every byte but the last.
    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func tag(_ field: Int, _ wire: WireType) {
        precondition(field >= 1 && field < 1 << 29, "protobuf field numbers are 1...2^29-1")
        varint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    /// An int64 (or int32, or enum) field. Negative values are their 64-bit two's complement: ten bytes, as
    /// the format prescribes for int64 (not zigzag, which is sint64's).
    public mutating func int64(_ field: Int, _ value: Int64) {
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    public mutating func float(_ field: Int, _ value: Float) {
        tag(field, .fixed32)
        fixed32(value.bitPattern)
    }

    public mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    public mutating func bytes(_ field: Int, _ value: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes += value
    }

    /// A nested message, built by `body` into a writer of its own and then written length-prefixed.
    public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        bytes(field, inner.bytes)
    }

    /// A packed repeated float: one length-delimited field holding four little-endian bytes per value.
    public mutating func packedFloats(_ field: Int, _ values: [Float]) {
        tag(field, .lengthDelimited)
        varint(UInt64(values.count) * 4)
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { fixed32(v.bitPattern) }
    }

    /// A packed repeated int64: one length-delimited field holding one varint per value.
    public mutating func packedInt64s(_ field: Int, _ values: [Int64]) {
        var inner = ProtobufWriter()
        for v in values { inner.varint(UInt64(bitPattern: v)) }
        bytes(field, inner.bytes)
    }

    private mutating func fixed32(_ bits: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: bits))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
    }
}
