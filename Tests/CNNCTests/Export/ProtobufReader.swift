import Foundation

/// A tiny protobuf decoder for the tests, written apart from the encoder so that the two check each other: it
/// splits a message into its fields and knows nothing of ONNX beyond what the test asks for by field number.
struct ProtobufMessage {
    enum Value: Equatable {
        case varint(UInt64)
        case fixed32(UInt32)
        case bytes([UInt8])
    }
    var fields: [(number: Int, value: Value)] = []

    struct Malformed: Error {}

    init(_ bytes: [UInt8]) throws {
        var at = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard at < bytes.count, shift < 64 else { throw Malformed() }
                let b = bytes[at]; at += 1
                result |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }
        while at < bytes.count {
            let tag = try varint()
            let number = Int(tag >> 3)
            switch tag & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 5:
                guard at + 4 <= bytes.count else { throw Malformed() }
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
                at += 4
                fields.append((number, .fixed32(bits)))
            case 2:
                let n = Int(try varint())
                guard n >= 0, at + n <= bytes.count else { throw Malformed() }
                fields.append((number, .bytes(Array(bytes[at..<at + n]))))
                at += n
            default: throw Malformed()
            }
        }
    }

    func all(_ number: Int) -> [Value] { fields.filter { $0.number == number }.map(\.value) }

    func int(_ number: Int) -> Int64? {
        guard case .varint(let v)? = all(number).last else { return nil }
        return Int64(bitPattern: v)
    }

    func float(_ number: Int) -> Float? {
        guard case .fixed32(let v)? = all(number).last else { return nil }
        return Float(bitPattern: v)
    }

    func string(_ number: Int) -> String? {
        guard case .bytes(let b)? = all(number).last else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    func strings(_ number: Int) -> [String] {
        all(number).compactMap { if case .bytes(let b) = $0 { return String(decoding: b, as: UTF8.self) } else { return nil } }
    }

    func messages(_ number: Int) throws -> [ProtobufMessage] {
        try all(number).compactMap { if case .bytes(let b) = $0 { return try ProtobufMessage(b) } else { return nil } }
    }

    func message(_ number: Int) throws -> ProtobufMessage? { try messages(number).last }

    /// A packed repeated int64 (as the encoder writes it) or unpacked varints.
    func int64s(_ number: Int) throws -> [Int64] {
        var out: [Int64] = []
        for v in all(number) {
            switch v {
            case .varint(let x): out.append(Int64(bitPattern: x))
            case .bytes(let b): out += try Self.packedVarints(b)
            case .fixed32: throw Malformed()
            }
        }
        return out
    }

    /// A packed repeated float.
    func floats(_ number: Int) throws -> [Float] {
        var out: [Float] = []
        for v in all(number) {
            guard case .bytes(let b) = v, b.count % 4 == 0 else { throw Malformed() }
            for i in stride(from: 0, to: b.count, by: 4) {
                out.append(Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[i + $1]) << (8 * UInt32($1)) }))
            }
        }
        return out
    }

    private static func packedVarints(_ b: [UInt8]) throws -> [Int64] {
        var out: [Int64] = []
        var result: UInt64 = 0, shift: UInt64 = 0
        for byte in b {
            guard shift < 64 else { throw Malformed() }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { out.append(Int64(bitPattern: result)); result = 0; shift = 0 } else { shift += 7 }
        }
        guard shift == 0 else { throw Malformed() }
        return out
    }
}
