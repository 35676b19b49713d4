import Testing
@testable import CNNC

/// The wire format against bytes worked out by hand from the protobuf encoding rules.
@Suite("Protobuf wire format")
struct ProtobufWriterTests {
    func varint(_ v: UInt64) -> [UInt8] {
        var w = ProtobufWriter()
        w.varint(v)
        return w.bytes
    }

    @Test("varints: seven bits a byte, low group first, high bit on all but the last")
    func varints() {
        #expect(varint(0) == [0x00])
        #expect(varint(1) == [0x01])
        #expect(varint(127) == [0x7f])
        #expect(varint(128) == [0x80, 0x01])
        #expect(varint(300) == [0xac, 0x02])                  // 300 = 0b10_0101100
        #expect(varint(16_384) == [0x80, 0x80, 0x01])         // 2^14
        #expect(varint(UInt64.max) == [UInt8](repeating: 0xff, count: 9) + [0x01])
    }

    @Test("tags: field number << 3 | wire type, itself a varint")
    func tags() {
        var w = ProtobufWriter()
        w.tag(1, .varint)
        w.tag(2, .lengthDelimited)
        w.tag(2, .fixed32)
        w.tag(16, .varint)                                    // 128: two bytes
        #expect(w.bytes == [0x08, 0x12, 0x15, 0x80, 0x01])
    }

    @Test("int64 fields: negative values are ten-byte two's complement, not zigzag")
    func int64s() {
        var w = ProtobufWriter()
        w.int64(1, 150)
        #expect(w.bytes == [0x08, 0x96, 0x01])
        w = ProtobufWriter()
        w.int64(1, -1)
        #expect(w.bytes == [0x08] + [UInt8](repeating: 0xff, count: 9) + [0x01])
        w = ProtobufWriter()
        w.int64(3, -2)
        #expect(w.bytes == [0x18, 0xfe] + [UInt8](repeating: 0xff, count: 8) + [0x01])
        w = ProtobufWriter()
        w.int64(20, Int64.min)                                // tag 160 = 0xa0 0x01; 2^63 needs the tenth byte
        #expect(w.bytes == [0xa0, 0x01] + [UInt8](repeating: 0x80, count: 9) + [0x01])
    }

    @Test("strings, floats and nested messages")
    func lengthDelimited() {
        var w = ProtobufWriter()
        w.string(2, "cnnc")
        w.float(2, 1.0)                                       // 0x3f800000, little-endian
        w.float(1, -2.5)                                      // 0xc0200000
        w.string(4, "")
        #expect(w.bytes == [0x12, 0x04, 0x63, 0x6e, 0x6e, 0x63, 0x15, 0x00, 0x00, 0x80, 0x3f,
                            0x0d, 0x00, 0x00, 0x20, 0xc0, 0x22, 0x00])
        w = ProtobufWriter()
        w.message(7) { inner in
            inner.int64(1, 150)
            inner.message(2) { $0.string(1, "a") }
        }
        // 7 << 3 | 2 = 0x3a; inner: 08 96 01 | 12 03 (0a 01 61)
        #expect(w.bytes == [0x3a, 0x08, 0x08, 0x96, 0x01, 0x12, 0x03, 0x0a, 0x01, 0x61])
    }

    @Test("a nested message longer than 127 bytes has a two-byte length")
    func longMessage() {
        var w = ProtobufWriter()
        w.message(1) { $0.bytes(1, [UInt8](repeating: 7, count: 200)) }
        // inner = 0a c8 01 + 200 bytes = 203 bytes = 0xcb 0x01
        #expect(Array(w.bytes.prefix(6)) == [0x0a, 0xcb, 0x01, 0x0a, 0xc8, 0x01])
        #expect(w.bytes.count == 3 + 203)
    }

    @Test("packed repeated fields: one length-delimited field of fixed32s or varints")
    func packed() {
        var w = ProtobufWriter()
        w.packedFloats(4, [1.0, -2.0, 0.5])
        #expect(w.bytes == [0x22, 0x0c, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x3f])
        w = ProtobufWriter()
        w.packedInt64s(1, [3, 270, 86_942])
        #expect(w.bytes == [0x0a, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05])
        w = ProtobufWriter()
        w.packedInt64s(8, [-1, 0])
        #expect(w.bytes == [0x42, 0x0b] + [UInt8](repeating: 0xff, count: 9) + [0x01, 0x00])
    }

    @Test("the test decoder reads back what the writer wrote")
    func roundTrip() throws {
        var w = ProtobufWriter()
        w.int64(1, -7)
        w.string(2, "conv1")
        w.packedFloats(4, [0.25, -8])
        w.packedInt64s(5, [1, -1, 1 << 40])
        w.message(6) { $0.float(2, 3.5) }
        let m = try ProtobufMessage(w.bytes)
        #expect(m.int(1) == -7)
        #expect(m.string(2) == "conv1")
        #expect(try m.floats(4) == [0.25, -8])
        #expect(try m.int64s(5) == [1, -1, 1 << 40])
        #expect(try m.message(6)?.float(2) == 3.5)
    }
}
